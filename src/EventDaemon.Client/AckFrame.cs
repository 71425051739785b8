using System.Buffers.Binary;

namespace EventDaemon.Client;

/// <summary>
/// The ack frame the daemon writes back on a connection whose frames set <c>ack_requested</c>
/// (PROTOCOL.md §3): 24 bytes, cumulative totals of the connection's frames that are durable
/// (accepted) or were skipped for their content (rejected).
/// </summary>
public readonly record struct AckFrame(long Accepted, long Rejected)
{
    /// <summary>Every ack frame has this length: a 4-byte length (20), then 20 bytes.</summary>
    public const int Size = 24;

    public const byte Version = 1;

    /// <summary><c>'A'</c>.</summary>
    public const byte TypeAck = 0x41;

    /// <summary>Frames of the connection the daemon is done with: its first <see cref="Settled"/> frames.</summary>
    public long Settled => Accepted + Rejected;

    /// <summary>Decodes one ack from the first <see cref="Size"/> bytes of <paramref name="frame"/>;
    /// throws <see cref="InvalidDataException"/> when they are not one (the stream is not an ack stream).</summary>
    public static AckFrame Read(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < Size
            || BinaryPrimitives.ReadUInt32LittleEndian(frame) != Size - 4
            || frame[4] != Version
            || frame[5] != TypeAck)
        {
            throw new InvalidDataException("the daemon sent bytes that are not a version-1 ack frame");
        }

        return new AckFrame(
            (long)BinaryPrimitives.ReadUInt64LittleEndian(frame[8..]),
            (long)BinaryPrimitives.ReadUInt64LittleEndian(frame[16..]));
    }
}
