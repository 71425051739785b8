using System.Runtime.CompilerServices;
using EventDaemon.Events.Codecs.Internal;

namespace EventDaemon.Events.Fields;

/// <summary>
/// Comparisons on raw JSON string bytes (the bytes between the quotes) against plain UTF-8, without
/// allocating: unescaped strings compare directly, escaped ones are unescaped into a stack buffer,
/// and strings too long for that buffer are compared while unescaping byte by byte.
/// </summary>
/// <remarks>
/// Unescaping follows RFC 8259: <c>\uXXXX</c> surrogate pairs become one 4-byte UTF-8 sequence;
/// a lone surrogate becomes U+FFFD. A malformed escape makes every comparison false.
/// </remarks>
[SkipLocalsInit]
public static class JsonString
{
    // Escaped strings up to this many raw bytes are unescaped on the stack (unescaping never
    // lengthens a string); longer ones, rare in events, use the streaming comparison.
    private const int StackUnescapeLimit = 512;

    public static bool EqualsUnescaped(ReadOnlySpan<byte> raw, bool escaped, ReadOnlySpan<byte> utf8Literal)
    {
        if (!escaped)
        {
            return raw.SequenceEqual(utf8Literal);
        }

        if (utf8Literal.Length > raw.Length)
        {
            return false;
        }

        if (raw.Length <= StackUnescapeLimit)
        {
            Span<byte> buffer = stackalloc byte[StackUnescapeLimit];
            return TryUnescape(raw, buffer, out int written) && buffer[..written].SequenceEqual(utf8Literal);
        }

        var reader = new JsonUnescaper(raw);
        foreach (byte expected in utf8Literal)
        {
            if (!reader.TryNext(out byte b) || b != expected)
            {
                return false;
            }
        }

        return reader.AtEnd;
    }

    public static bool StartsWith(ReadOnlySpan<byte> raw, bool escaped, ReadOnlySpan<byte> utf8Prefix)
    {
        if (!escaped)
        {
            return raw.StartsWith(utf8Prefix);
        }

        if (utf8Prefix.Length > raw.Length)
        {
            return false;
        }

        if (raw.Length <= StackUnescapeLimit)
        {
            Span<byte> buffer = stackalloc byte[StackUnescapeLimit];
            return TryUnescape(raw, buffer, out int written) && buffer[..written].StartsWith(utf8Prefix);
        }

        var reader = new JsonUnescaper(raw);
        foreach (byte expected in utf8Prefix)
        {
            if (!reader.TryNext(out byte b) || b != expected)
            {
                return false;
            }
        }

        return reader.IsValidToEnd();
    }

    public static bool Contains(ReadOnlySpan<byte> raw, bool escaped, ReadOnlySpan<byte> utf8Needle)
    {
        if (!escaped)
        {
            return raw.IndexOf(utf8Needle) >= 0;
        }

        if (utf8Needle.Length > raw.Length)
        {
            return false;
        }

        if (raw.Length <= StackUnescapeLimit)
        {
            Span<byte> buffer = stackalloc byte[StackUnescapeLimit];
            return TryUnescape(raw, buffer, out int written) && buffer[..written].IndexOf(utf8Needle) >= 0;
        }

        return ContainsStreaming(raw, utf8Needle);
    }

    /// <summary>
    /// Unescapes <paramref name="raw"/> into <paramref name="destination"/>. A destination of
    /// <c>raw.Length</c> bytes is always large enough. False on a malformed escape or a short destination.
    /// </summary>
    public static bool TryUnescape(ReadOnlySpan<byte> raw, Span<byte> destination, out int written)
    {
        written = 0;
        int i = 0;
        while (i < raw.Length)
        {
            int slash = raw[i..].IndexOf((byte)'\\');
            int run = slash < 0 ? raw.Length - i : slash;
            if (run > destination.Length - written)
            {
                return false;
            }

            raw.Slice(i, run).CopyTo(destination[written..]);
            written += run;
            i += run;
            if (slash < 0)
            {
                return true;
            }

            int consumed = JsonUnescaper.DecodeEscape(raw, i, out uint scalar);
            if (consumed < 0)
            {
                return false;
            }

            i += consumed;
            int n = Utf8Length(scalar);
            if (n > destination.Length - written)
            {
                return false;
            }

            WriteUtf8(scalar, destination[written..]);
            written += n;
        }

        return true;
    }

    private static bool ContainsStreaming(ReadOnlySpan<byte> raw, ReadOnlySpan<byte> needle)
    {
        if (!new JsonUnescaper(raw).IsValidToEnd())
        {
            return false;
        }

        if (needle.IsEmpty)
        {
            return true;
        }

        // Naive search over the unescaped stream: each start is a copy of the reader's state.
        var start = new JsonUnescaper(raw);
        while (true)
        {
            var probe = start;
            int matched = 0;
            while (matched < needle.Length && probe.TryNext(out byte b) && b == needle[matched])
            {
                matched++;
            }

            if (matched == needle.Length)
            {
                return true;
            }

            if (!start.TryNext(out _))
            {
                return false;
            }
        }
    }

    internal static int Utf8Length(uint scalar) => scalar < 0x80 ? 1 : scalar < 0x800 ? 2 : scalar < 0x10000 ? 3 : 4;

    internal static void WriteUtf8(uint scalar, Span<byte> destination)
    {
        if (scalar < 0x80)
        {
            destination[0] = (byte)scalar;
        }
        else if (scalar < 0x800)
        {
            destination[1] = (byte)(0x80 | (scalar & 0x3F));
            destination[0] = (byte)(0xC0 | (scalar >> 6));
        }
        else if (scalar < 0x10000)
        {
            destination[2] = (byte)(0x80 | (scalar & 0x3F));
            destination[1] = (byte)(0x80 | ((scalar >> 6) & 0x3F));
            destination[0] = (byte)(0xE0 | (scalar >> 12));
        }
        else
        {
            destination[3] = (byte)(0x80 | (scalar & 0x3F));
            destination[2] = (byte)(0x80 | ((scalar >> 6) & 0x3F));
            destination[1] = (byte)(0x80 | ((scalar >> 12) & 0x3F));
            destination[0] = (byte)(0xF0 | (scalar >> 18));
        }
    }
}
