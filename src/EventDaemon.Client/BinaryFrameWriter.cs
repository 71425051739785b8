using System.Buffers;
using System.Buffers.Binary;

namespace EventDaemon.Client;

/// <summary>
/// Encodes events as version-1 binary frames (src/EventDaemon.Events/Codecs/PROTOCOL.md):
/// little-endian, a 4-byte length of the rest, a 28-byte fixed header, then type, key and payload.
/// </summary>
public static class BinaryFrameWriter
{
    public const byte Version = 1;

    /// <summary>Length prefix plus fixed header.</summary>
    public const int HeaderSize = 32;

    public const byte FlagHasTimestamp = 1 << 0;
    public const byte FlagHasValue = 1 << 1;
    public const byte FlagHasType = 1 << 2;
    public const byte FlagHasKey = 1 << 3;

    /// <summary>The sender wants acknowledgements on this connection (PROTOCOL.md §3).</summary>
    public const byte FlagAckRequested = 1 << 4;

    /// <summary>Longest type or key: their lengths are 16-bit fields.</summary>
    public const int MaxFieldBytes = ushort.MaxValue;

    /// <summary>Whole frame length (prefix included) for the given field sizes.</summary>
    public static int GetFrameLength(int typeLength, int keyLength, int payloadLength) =>
        checked(HeaderSize + typeLength + keyLength + payloadLength);

    /// <summary>Whole frame length for <paramref name="e"/>.</summary>
    public static int GetFrameLength(in FrameEvent e) => GetFrameLength(e.Type.Length, e.Key.Length, e.Payload.Length);

    /// <summary>Writes one frame; returns its length. Throws if it does not fit or a field is too long.</summary>
    public static int Write(Span<byte> destination, in FrameEvent e)
    {
        if (!TryWrite(destination, in e, out int written))
        {
            ThrowTooSmall(destination.Length, e);
        }

        return written;
    }

    /// <summary>Writes one frame into <paramref name="writer"/>; returns its length.</summary>
    public static int Write(IBufferWriter<byte> writer, in FrameEvent e)
    {
        ArgumentNullException.ThrowIfNull(writer);
        int length = GetFrameLength(in e);
        Span<byte> span = writer.GetSpan(length);
        int written = Write(span, in e);
        writer.Advance(written);
        return written;
    }

    /// <summary>Writes one frame if it fits; false (nothing written) otherwise. Throws only for a field over 65535 bytes.</summary>
    public static bool TryWrite(Span<byte> destination, in FrameEvent e, out int written)
    {
        if (e.Type.Length > MaxFieldBytes || e.Key.Length > MaxFieldBytes)
        {
            throw new ArgumentException($"type and key are limited to {MaxFieldBytes} bytes (type: {e.Type.Length}, key: {e.Key.Length}).", nameof(e));
        }

        if (e.Value is double v && !double.IsFinite(v))
        {
            throw new ArgumentException("value must be finite: the daemon skips frames carrying NaN or infinity.", nameof(e));
        }

        int length = GetFrameLength(in e);
        written = 0;
        if (destination.Length < length)
        {
            return false;
        }

        byte flags = 0;
        if (e.Timestamp.HasValue)
        {
            flags |= FlagHasTimestamp;
        }

        if (e.Value.HasValue)
        {
            flags |= FlagHasValue;
        }

        if (e.HasType)
        {
            flags |= FlagHasType;
        }

        if (e.HasKey)
        {
            flags |= FlagHasKey;
        }

        if (e.AckRequested)
        {
            flags |= FlagAckRequested;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)(length - 4));
        destination[4] = Version;
        destination[5] = flags;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(destination[8..], e.Timestamp ?? 0);
        BinaryPrimitives.WriteDoubleLittleEndian(destination[16..], e.Value ?? 0.0);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[24..], (ushort)e.Type.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[26..], (ushort)e.Key.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[28..], (uint)e.Payload.Length);
        int at = HeaderSize;
        e.Type.CopyTo(destination[at..]);
        at += e.Type.Length;
        e.Key.CopyTo(destination[at..]);
        at += e.Key.Length;
        e.Payload.CopyTo(destination[at..]);
        written = length;
        return true;
    }

    private static void ThrowTooSmall(int available, in FrameEvent e) =>
        throw new ArgumentException($"destination has {available} bytes; the frame needs {GetFrameLength(in e)}.", nameof(available));
}
