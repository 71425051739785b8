using System.Buffers.Binary;

namespace EventDaemon.Daemon.Sources;

/// <summary>The ack frame a stream source writes back to a binary client (PROTOCOL.md §3).</summary>
internal static class AckFrameWriter
{
    /// <summary>The whole frame: a 4-byte length, then 20 bytes. Fixed, so a client reads acks in 24-byte steps.</summary>
    public const int FrameBytes = 24;

    public const byte Version = 1;

    /// <summary><c>'A'</c>: the only frame type the daemon sends.</summary>
    public const byte TypeAck = 0x41;

    public static void Write(Span<byte> frame, long accepted, long rejected)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(frame, FrameBytes - 4);
        frame[4] = Version;
        frame[5] = TypeAck;
        BinaryPrimitives.WriteUInt16LittleEndian(frame[6..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(frame[8..], (ulong)accepted);
        BinaryPrimitives.WriteUInt64LittleEndian(frame[16..], (ulong)rejected);
    }
}
