using System.Buffers.Text;

namespace EventDaemon.Client;

/// <summary>
/// Formats the well-known fields as one JSON line (<c>{"ts":…,"type":"…","key":"…","value":…}\n</c>)
/// without allocating, for load generators and tests. Strings are escaped as JSON requires.
/// </summary>
public static class JsonEventWriter
{
    /// <summary>Upper bound of the line length for the given field sizes (each byte may become a 6-byte escape).</summary>
    public static int GetMaxLength(int typeLength, int keyLength) => 96 + (6 * (typeLength + keyLength));

    /// <summary>Writes one line ending in <c>\n</c>; false when it does not fit. Null/empty spans omit fields only when <paramref name="omitEmpty"/>.</summary>
    public static bool TryWrite(Span<byte> destination, long? timestamp, ReadOnlySpan<byte> type, ReadOnlySpan<byte> key, double? value, out int written, bool omitEmpty = true)
    {
        written = 0;
        int at = 0;
        bool first = true;
        if (!Put(destination, ref at, "{"u8))
        {
            return false;
        }

        if (timestamp is long ts)
        {
            if (!Name(destination, ref at, ref first, "ts"u8) || !Utf8Formatter.TryFormat(ts, destination[at..], out int n))
            {
                return false;
            }

            at += n;
        }

        if (!(omitEmpty && type.IsEmpty) && (!Name(destination, ref at, ref first, "type"u8) || !String(destination, ref at, type)))
        {
            return false;
        }

        if (!(omitEmpty && key.IsEmpty) && (!Name(destination, ref at, ref first, "key"u8) || !String(destination, ref at, key)))
        {
            return false;
        }

        if (value is double v)
        {
            if (!double.IsFinite(v))
            {
                throw new ArgumentException("value must be finite: JSON has no NaN or infinity.", nameof(value));
            }

            if (!Name(destination, ref at, ref first, "value"u8) || !v.TryFormat(destination[at..], out int n, "R", System.Globalization.CultureInfo.InvariantCulture))
            {
                return false;
            }

            at += n;
        }

        if (!Put(destination, ref at, "}\n"u8))
        {
            return false;
        }

        written = at;
        return true;
    }

    private static bool Name(Span<byte> d, ref int at, ref bool first, ReadOnlySpan<byte> name)
    {
        if (!first && !Put(d, ref at, ","u8))
        {
            return false;
        }

        first = false;
        return Put(d, ref at, "\""u8) && Put(d, ref at, name) && Put(d, ref at, "\":"u8);
    }

    private static bool String(Span<byte> d, ref int at, ReadOnlySpan<byte> utf8)
    {
        if (!Put(d, ref at, "\""u8))
        {
            return false;
        }

        foreach (byte b in utf8)
        {
            bool ok = b switch
            {
                (byte)'"' => Put(d, ref at, "\\\""u8),
                (byte)'\\' => Put(d, ref at, "\\\\"u8),
                < 0x20 => PutControl(d, ref at, b),
                _ => PutByte(d, ref at, b),
            };
            if (!ok)
            {
                return false;
            }
        }

        return Put(d, ref at, "\""u8);
    }

    private static bool PutControl(Span<byte> d, ref int at, byte b)
    {
        if (d.Length - at < 6)
        {
            return false;
        }

        "\\u00"u8.CopyTo(d[at..]);
        d[at + 4] = Hex(b >> 4);
        d[at + 5] = Hex(b & 0xF);
        at += 6;
        return true;
    }

    private static byte Hex(int nibble) => (byte)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);

    private static bool PutByte(Span<byte> d, ref int at, byte b)
    {
        if (at >= d.Length)
        {
            return false;
        }

        d[at++] = b;
        return true;
    }

    private static bool Put(Span<byte> d, ref int at, ReadOnlySpan<byte> bytes)
    {
        if (d.Length - at < bytes.Length)
        {
            return false;
        }

        bytes.CopyTo(d[at..]);
        at += bytes.Length;
        return true;
    }
}
