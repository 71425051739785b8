using EventDaemon.Events.Fields;

namespace EventDaemon.Events.Codecs.Internal;

/// <summary>
/// Yields the unescaped UTF-8 bytes of a raw JSON string one at a time. A value type so a caller
/// can fork the position by copying it (the streaming <c>Contains</c> does).
/// </summary>
internal ref struct JsonUnescaper
{
    private readonly ReadOnlySpan<byte> _raw;
    private int _position;

    // Bytes of the current decoded escape not yet yielded, packed low byte first.
    private uint _pending;
    private int _pendingCount;
    private bool _malformed;

    public JsonUnescaper(ReadOnlySpan<byte> raw)
    {
        _raw = raw;
        _position = 0;
        _pending = 0;
        _pendingCount = 0;
        _malformed = false;
    }

    public readonly bool AtEnd => _pendingCount == 0 && _position >= _raw.Length;

    /// <summary>False at the end of the string or at a malformed escape.</summary>
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
        if (c != (byte)'\\')
        {
            _position++;
            value = c;
            return true;
        }

        int consumed = DecodeEscape(_raw, _position, out uint scalar);
        if (consumed < 0)
        {
            value = 0;
            _position = _raw.Length;
            _malformed = true;
            return false;
        }

        _position += consumed;
        Span<byte> utf8 = stackalloc byte[4];
        int n = JsonString.Utf8Length(scalar);
        JsonString.WriteUtf8(scalar, utf8);
        value = utf8[0];
        _pending = 0;
        for (int k = n - 1; k >= 1; k--)
        {
            _pending = (_pending << 8) | utf8[k];
        }

        _pendingCount = n - 1;
        return true;
    }

    /// <summary>Consumes the rest; true when every escape in it is well formed.</summary>
    public bool IsValidToEnd()
    {
        while (TryNext(out _))
        {
        }

        return !_malformed;
    }

    /// <summary>
    /// Decodes the escape starting with the backslash at <paramref name="at"/>. Returns the bytes
    /// consumed, or -1 when malformed. Lone surrogates decode to U+FFFD.
    /// </summary>
    public static int DecodeEscape(ReadOnlySpan<byte> raw, int at, out uint scalar)
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
            case (byte)'u':
                break;
            default:
                return -1;
        }

        if (!TryHex4(raw, at + 2, out uint unit))
        {
            return -1;
        }

        if (unit is >= 0xD800 and <= 0xDBFF)
        {
            if (at + 11 < raw.Length && raw[at + 6] == (byte)'\\' && raw[at + 7] == (byte)'u'
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

    public static bool TryHex4(ReadOnlySpan<byte> raw, int at, out uint value)
    {
        value = 0;
        if (at + 4 > raw.Length)
        {
            return false;
        }

        for (int k = 0; k < 4; k++)
        {
            uint c = raw[at + k];
            uint d;
            if (c - '0' <= 9)
            {
                d = c - '0';
            }
            else if ((c | 0x20) - 'a' <= 5)
            {
                d = (c | 0x20) - 'a' + 10;
            }
            else
            {
                return false;
            }

            value = (value << 4) | d;
        }

        return true;
    }
}
