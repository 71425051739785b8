using EventDaemon.Events.Fields;

namespace EventDaemon.Stages.Expressions.Internal;

/// <summary>
/// String operations on JSON string bytes that may hold escapes, as if unescaped, without
/// allocating. Equality and search against plain UTF-8 go through <see cref="JsonString"/>; this
/// adds byte-wise ordering and the rare case of two escaped strings (<c>.a == .b</c>).
/// </summary>
/// <remarks>
/// A malformed escape cannot reach here for events that passed ingest validation; if one does,
/// the string is unordered against everything and every comparison with it is false.
/// </remarks>
internal static class EscapedText
{
    /// <summary>
    /// Ordinal comparison of the unescaped UTF-8 bytes (the order of code points);
    /// <see cref="NumberComparison.Unordered"/> on a malformed escape.
    /// </summary>
    public static int Compare(ReadOnlySpan<byte> a, bool aEscaped, ReadOnlySpan<byte> b, bool bEscaped)
    {
        if (!aEscaped && !bEscaped)
        {
            int c = a.SequenceCompareTo(b);
            return c < 0 ? -1 : c > 0 ? 1 : 0;
        }

        var ra = new UnescapingReader(a, aEscaped);
        var rb = new UnescapingReader(b, bEscaped);
        while (true)
        {
            bool hasA = ra.TryNext(out byte x);
            bool hasB = rb.TryNext(out byte y);
            if (ra.Malformed || rb.Malformed)
            {
                return NumberComparison.Unordered;
            }

            if (!hasA || !hasB)
            {
                return hasA ? 1 : hasB ? -1 : 0;
            }

            if (x != y)
            {
                return x < y ? -1 : 1;
            }
        }
    }

    public static bool Equal(ReadOnlySpan<byte> a, bool aEscaped, ReadOnlySpan<byte> b, bool bEscaped)
    {
        if (!bEscaped)
        {
            return JsonString.EqualsUnescaped(a, aEscaped, b);
        }

        if (!aEscaped)
        {
            return JsonString.EqualsUnescaped(b, escaped: true, a);
        }

        return Compare(a, aEscaped, b, bEscaped) == 0;
    }

    /// <summary>Inequality of two strings that both unescape cleanly; false if either is malformed.</summary>
    public static bool NotEqual(ReadOnlySpan<byte> a, bool aEscaped, ReadOnlySpan<byte> b, bool bEscaped)
    {
        if (!aEscaped && !bEscaped)
        {
            return !a.SequenceEqual(b);
        }

        int c = Compare(a, aEscaped, b, bEscaped);
        return c != 0 && c != NumberComparison.Unordered;
    }

    public static bool StartsWith(ReadOnlySpan<byte> text, bool textEscaped, ReadOnlySpan<byte> prefix, bool prefixEscaped)
    {
        if (!prefixEscaped)
        {
            return JsonString.StartsWith(text, textEscaped, prefix);
        }

        var rt = new UnescapingReader(text, textEscaped);
        var rp = new UnescapingReader(prefix, prefixEscaped);
        while (rp.TryNext(out byte expected))
        {
            if (!rt.TryNext(out byte actual) || actual != expected)
            {
                return false;
            }
        }

        return !rp.Malformed && rt.IsValidToEnd();
    }

    public static bool Contains(ReadOnlySpan<byte> text, bool textEscaped, ReadOnlySpan<byte> needle, bool needleEscaped)
    {
        if (!needleEscaped)
        {
            return JsonString.Contains(text, textEscaped, needle);
        }

        if (!new UnescapingReader(text, textEscaped).IsValidToEnd() || !new UnescapingReader(needle, needleEscaped).IsValidToEnd())
        {
            return false;
        }

        // Naive search over both unescaped streams; each candidate start is a copy of the reader.
        var start = new UnescapingReader(text, textEscaped);
        while (true)
        {
            var probe = start;
            var rn = new UnescapingReader(needle, needleEscaped);
            bool matched = true;
            while (rn.TryNext(out byte expected))
            {
                if (!probe.TryNext(out byte actual) || actual != expected)
                {
                    matched = false;
                    break;
                }
            }

            if (matched)
            {
                return true;
            }

            if (!start.TryNext(out _))
            {
                return false;
            }
        }
    }

    /// <summary>Yields the unescaped bytes of a JSON string one at a time (raw bytes as they are when not escaped).</summary>
    private ref struct UnescapingReader
    {
        private readonly ReadOnlySpan<byte> _raw;
        private readonly bool _escaped;
        private int _position;

        // Continuation bytes of the last decoded escape not yet yielded, low byte first.
        private uint _pending;
        private int _pendingCount;

        public UnescapingReader(ReadOnlySpan<byte> raw, bool escaped)
        {
            _raw = raw;
            _escaped = escaped;
        }

        public bool Malformed { get; private set; }

        public bool TryNext(out byte value)
        {
            if (_pendingCount > 0)
            {
                value = (byte)_pending;
                _pending >>= 8;
                _pendingCount--;
                return true;
            }

            if (_position >= _raw.Length)
            {
                value = 0;
                return false;
            }

            byte c = _raw[_position];
            if (c != (byte)'\\' || !_escaped)
            {
                _position++;
                value = c;
                return true;
            }

            int consumed = DecodeEscape(_raw, _position, out uint scalar);
            if (consumed < 0)
            {
                Malformed = true;
                _position = _raw.Length;
                value = 0;
                return false;
            }

            _position += consumed;
            if (scalar < 0x80)
            {
                value = (byte)scalar;
                return true;
            }

            if (scalar < 0x800)
            {
                value = (byte)(0xC0 | (scalar >> 6));
                _pending = 0x80 | (scalar & 0x3F);
                _pendingCount = 1;
                return true;
            }

            if (scalar < 0x10000)
            {
                value = (byte)(0xE0 | (scalar >> 12));
                _pending = (0x80 | ((scalar >> 6) & 0x3F)) | ((0x80 | (scalar & 0x3F)) << 8);
                _pendingCount = 2;
                return true;
            }

            value = (byte)(0xF0 | (scalar >> 18));
            _pending = (0x80 | ((scalar >> 12) & 0x3F)) | ((0x80 | ((scalar >> 6) & 0x3F)) << 8) | ((0x80 | (scalar & 0x3F)) << 16);
            _pendingCount = 3;
            return true;
        }

        public bool IsValidToEnd()
        {
            while (TryNext(out _))
            {
            }

            return !Malformed;
        }

        /// <summary>
        /// Decodes the escape at <paramref name="at"/> (a backslash) into a Unicode scalar; returns
        /// the bytes consumed or -1. A lone surrogate becomes U+FFFD, as <see cref="JsonString"/> does.
        /// </summary>
        private static int DecodeEscape(ReadOnlySpan<byte> raw, int at, out uint scalar)
        {
            scalar = 0;
            if (at + 1 >= raw.Length)
            {
                return -1;
            }

            switch (raw[at + 1])
            {
                case (byte)'"': scalar = '"'; return 2;
                case (byte)'\\': scalar = '\\'; return 2;
                case (byte)'/': scalar = '/'; return 2;
                case (byte)'b': scalar = '\b'; return 2;
                case (byte)'f': scalar = '\f'; return 2;
                case (byte)'n': scalar = '\n'; return 2;
                case (byte)'r': scalar = '\r'; return 2;
                case (byte)'t': scalar = '\t'; return 2;
                case (byte)'u': break;
                default: return -1;
            }

            if (!TryHex4(raw, at + 2, out uint unit))
            {
                return -1;
            }

            if (unit is >= 0xD800 and <= 0xDBFF)
            {
                if (at + 12 <= raw.Length && raw[at + 6] == (byte)'\\' && raw[at + 7] == (byte)'u'
                    && TryHex4(raw, at + 8, out uint low) && low is >= 0xDC00 and <= 0xDFFF)
                {
                    scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                    return 12;
                }

                scalar = 0xFFFD;
                return 6;
            }

            scalar = unit is >= 0xDC00 and <= 0xDFFF ? 0xFFFD : unit;
            return 6;
        }

        private static bool TryHex4(ReadOnlySpan<byte> raw, int at, out uint value)
        {
            value = 0;
            if (at + 4 > raw.Length)
            {
                return false;
            }

            for (int k = 0; k < 4; k++)
            {
                uint c = raw[at + k];
                uint digit;
                if (c - '0' <= 9)
                {
                    digit = c - '0';
                }
                else if ((c | 0x20) - 'a' <= 5)
                {
                    digit = (c | 0x20) - 'a' + 10;
                }
                else
                {
                    return false;
                }

                value = (value << 4) | digit;
            }

            return true;
        }
    }
}
