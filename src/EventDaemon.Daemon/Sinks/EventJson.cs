using System.Buffers.Text;
using EventDaemon.Events;
using EventDaemon.Events.Codecs;

namespace EventDaemon.Daemon.Sinks;

/// <summary>
/// How an event is written by a sink: a JSON event as its original bytes; a binary event as a
/// JSON object of its fields (<c>ts</c>, <c>type</c>, <c>key</c>, <c>value</c>, and the opaque
/// payload as base64 under <c>payload</c>). Every line ends with <c>\n</c>.
/// </summary>
public static class EventJson
{
    /// <summary>Upper bound of the rendered size, for buffer checks.</summary>
    public static int MaxLength(ref readonly EventSlot slot) =>
        (slot.Flags & EventFlags.Binary) == 0 ? slot.PayloadLength + 1 : 128 + 6 * slot.PayloadLength;

    /// <summary>Writes the event's line into <paramref name="destination"/> and returns its length.</summary>
    public static int Write(ref readonly EventSlot slot, ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        if ((slot.Flags & EventFlags.Binary) == 0)
        {
            payload.CopyTo(destination);
            destination[payload.Length] = (byte)'\n';
            return payload.Length + 1;
        }

        return WriteBinary(in slot, payload, destination);
    }

    private static int WriteBinary(ref readonly EventSlot slot, ReadOnlySpan<byte> frame, Span<byte> d)
    {
        int n = 0;
        Append(d, ref n, "{\"ts\":"u8);
        Utf8Formatter.TryFormat(slot.Timestamp, d[n..], out int w);
        n += w;
        if ((slot.Flags & EventFlags.HasType) != 0)
        {
            Append(d, ref n, ",\"type\":"u8);
            AppendString(d, ref n, frame.Slice(slot.TypeOffset, slot.TypeLength));
        }

        if ((slot.Flags & EventFlags.HasKey) != 0)
        {
            Append(d, ref n, ",\"key\":"u8);
            AppendString(d, ref n, frame.Slice(slot.KeyOffset, slot.KeyLength));
        }

        if ((slot.Flags & EventFlags.HasValue) != 0)
        {
            Append(d, ref n, ",\"value\":"u8);
            Utf8Formatter.TryFormat(slot.Value, d[n..], out w);
            n += w;
        }

        ReadOnlySpan<byte> opaque = BinaryFrame.Payload(frame, in slot);
        if (!opaque.IsEmpty)
        {
            Append(d, ref n, ",\"payload\":\""u8);
            Base64.EncodeToUtf8(opaque, d[n..], out _, out w);
            n += w;
            d[n++] = (byte)'"';
        }

        Append(d, ref n, "}\n"u8);
        return n;
    }

    private static void Append(Span<byte> d, ref int n, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(d[n..]);
        n += bytes.Length;
    }

    /// <summary>A JSON string of raw UTF-8 bytes: quotes, backslashes and control bytes escaped.</summary>
    private static void AppendString(Span<byte> d, ref int n, ReadOnlySpan<byte> raw)
    {
        d[n++] = (byte)'"';
        foreach (byte b in raw)
        {
            if (b == '"' || b == '\\')
            {
                d[n++] = (byte)'\\';
                d[n++] = b;
            }
            else if (b < 0x20)
            {
                Append(d, ref n, "\\u00"u8);
                d[n++] = (byte)"0123456789abcdef"[b >> 4];
                d[n++] = (byte)"0123456789abcdef"[b & 0xF];
            }
            else
            {
                d[n++] = b;
            }
        }

        d[n++] = (byte)'"';
    }
}
