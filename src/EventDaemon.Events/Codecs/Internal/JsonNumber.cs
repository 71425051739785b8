using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace EventDaemon.Events.Codecs.Internal;

/// <summary>Strict JSON number scanning (RFC 8259 §6) with a correctly rounded conversion to double.</summary>
internal static class JsonNumber
{
    // 2^53: every integer up to here is exact in a double, the precondition of Clinger's fast path.
    private const ulong MaxExactMantissa = 1UL << 53;

    // 19 decimal digits always fit in a ulong; more go to the slow path.
    private const int MaxMantissaDigits = 19;

    // Powers of ten that are exact doubles (10^22 is the largest), used by the fast path. An array,
    // not a ReadOnlySpan property: a collection expression of doubles is not blitted from the image
    // and would be built on every access.
    private static readonly double[] ExactPowersOfTen =
    [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];

    /// <summary>
    /// Scans a number starting at <paramref name="start"/>. Returns the index just past it, or -1
    /// when the bytes there are not a JSON number. Does not look at what follows the number.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Scan(ReadOnlySpan<byte> s, int start, out double value, out bool isInteger)
    {
        value = 0;
        isInteger = true;
        int i = start;
        bool negative = false;
        if (i < s.Length && s[i] == (byte)'-')
        {
            negative = true;
            i++;
        }

        if (i >= s.Length)
        {
            return -1;
        }

        ulong mantissa = 0;
        int digits = 0;
        bool truncated = false;
        int decimalExponent = 0;

        byte c = s[i];
        if (c == (byte)'0')
        {
            i++;
        }
        else if (c - (uint)'1' <= 8)
        {
            while (i < s.Length && (c = s[i]) - (uint)'0' <= 9)
            {
                if (digits < MaxMantissaDigits)
                {
                    mantissa = (mantissa * 10) + (uint)(c - '0');
                    if (mantissa != 0)
                    {
                        digits++;
                    }
                }
                else
                {
                    truncated = true;
                    decimalExponent++;
                }

                i++;
            }
        }
        else
        {
            return -1;
        }

        if (i < s.Length && s[i] == (byte)'.')
        {
            isInteger = false;
            i++;
            int fractionStart = i;
            while (i < s.Length && (c = s[i]) - (uint)'0' <= 9)
            {
                if (digits < MaxMantissaDigits)
                {
                    mantissa = (mantissa * 10) + (uint)(c - '0');
                    if (mantissa != 0)
                    {
                        digits++;
                    }

                    decimalExponent--;
                }
                else
                {
                    truncated = true;
                }

                i++;
            }

            if (i == fractionStart)
            {
                return -1;
            }
        }

        if (i < s.Length && (s[i] | 0x20) == (byte)'e')
        {
            isInteger = false;
            i++;
            bool negativeExponent = false;
            if (i < s.Length && (s[i] == (byte)'+' || s[i] == (byte)'-'))
            {
                negativeExponent = s[i] == (byte)'-';
                i++;
            }

            int exponentStart = i;
            int exponent = 0;
            while (i < s.Length && (c = s[i]) - (uint)'0' <= 9)
            {
                // Saturate: anything beyond ±100000 is already 0 or infinity for a double.
                if (exponent < 100_000)
                {
                    exponent = (exponent * 10) + (c - '0');
                }

                i++;
            }

            if (i == exponentStart)
            {
                return -1;
            }

            decimalExponent += negativeExponent ? -exponent : exponent;
        }

        if (mantissa == 0 && !truncated)
        {
            value = negative ? -0.0 : 0.0;
            return i;
        }

        if (!truncated && mantissa <= MaxExactMantissa && decimalExponent is >= -22 and <= 22)
        {
            // Clinger's fast path: one exact operand and one correctly rounded operation.
            double m = mantissa;
            double r = decimalExponent < 0 ? m / ExactPowersOfTen[-decimalExponent] : m * ExactPowersOfTen[decimalExponent];
            value = negative ? -r : r;
            return i;
        }

        value = ParseSlow(s[start..i]);
        return i;
    }

    /// <summary>
    /// Scans a number at <paramref name="start"/> and, when it is a JSON integer (no fraction, no
    /// exponent) that fits in a long, returns its value with <paramref name="isInt64"/> set.
    /// Returns the index past the number, or -1 when the bytes are not a JSON number.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ScanInt64(ReadOnlySpan<byte> s, int start, out long value, out bool isInt64)
    {
        value = 0;
        isInt64 = false;
        int i = start;
        bool negative = false;
        if (i < s.Length && s[i] == (byte)'-')
        {
            negative = true;
            i++;
        }

        int digitsStart = i;
        ulong acc = 0;

        // Eight digits per step while at most 16 are consumed, so acc stays below 10^16.
        while (i - digitsStart <= 8 && i + 8 <= s.Length && TryReadEightDigits(s, i, out uint eight))
        {
            acc = (acc * 100_000_000) + eight;
            i += 8;
        }

        while (i < s.Length)
        {
            uint d = (uint)(s[i] - '0');
            if (d > 9)
            {
                break;
            }

            // Wraps beyond 20 digits; the digit count below rejects those.
            acc = (acc * 10) + d;
            i++;
        }

        int digits = i - digitsStart;
        if (digits == 0 || (digits > 1 && s[digitsStart] == (byte)'0'))
        {
            return -1;
        }

        if (i < s.Length && (s[i] == (byte)'.' || (s[i] | 0x20) == (byte)'e'))
        {
            return Skip(s, start, out _);
        }

        // 19 digits never overflow a ulong; the sign decides the limit (|long.MinValue| = 2^63).
        if (digits <= 19 && acc <= (negative ? 1UL << 63 : long.MaxValue))
        {
            value = negative ? (long)(0UL - acc) : (long)acc;
            isInt64 = true;
        }

        return i;
    }

    /// <summary>
    /// Reads eight ASCII digits at <paramref name="at"/> as one number (SWAR: one 64-bit load, a
    /// validity test and three multiplies instead of eight dependent multiply-adds).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryReadEightDigits(ReadOnlySpan<byte> s, int at, out uint value)
    {
        ulong word = BinaryPrimitives.ReadUInt64LittleEndian(s[at..]);

        // All eight bytes in '0'..'9': high nibble 3, and adding 6 does not carry into it.
        if ((word & 0xF0F0F0F0F0F0F0F0UL) != 0x3030303030303030UL
            || ((word + 0x0606060606060606UL) & 0xF0F0F0F0F0F0F0F0UL) != 0x3030303030303030UL)
        {
            value = 0;
            return false;
        }

        ulong digits = word - 0x3030303030303030UL;
        digits = (digits * 10) + (digits >> 8);
        const ulong Mask = 0x000000FF000000FFUL;
        const ulong Mul1 = 100 + (1_000_000UL << 32);
        const ulong Mul2 = 1 + (10_000UL << 32);
        value = (uint)((((digits & Mask) * Mul1) + (((digits >> 16) & Mask) * Mul2)) >> 32);
        return true;
    }

    /// <summary>Validates the number grammar only; returns the index past the number or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Skip(ReadOnlySpan<byte> s, int start, out bool isInteger)
    {
        isInteger = true;
        int i = start;
        if (i < s.Length && s[i] == (byte)'-')
        {
            i++;
        }

        if (i >= s.Length)
        {
            return -1;
        }

        byte c = s[i];
        if (c == (byte)'0')
        {
            i++;
        }
        else if (c - (uint)'1' <= 8)
        {
            i = SkipDigits(s, i + 1);
        }
        else
        {
            return -1;
        }

        if (i < s.Length && s[i] == (byte)'.')
        {
            isInteger = false;
            int fractionStart = i + 1;
            i = SkipDigits(s, fractionStart);
            if (i == fractionStart)
            {
                return -1;
            }
        }

        if (i < s.Length && (s[i] | 0x20) == (byte)'e')
        {
            isInteger = false;
            i++;
            if (i < s.Length && (s[i] == (byte)'+' || s[i] == (byte)'-'))
            {
                i++;
            }

            int exponentStart = i;
            i = SkipDigits(s, i);
            if (i == exponentStart)
            {
                return -1;
            }
        }

        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SkipDigits(ReadOnlySpan<byte> s, int i)
    {
        while (i < s.Length && s[i] - (uint)'0' <= 9)
        {
            i++;
        }

        return i;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double ParseSlow(ReadOnlySpan<byte> token)
    {
        // The token is already known to match the JSON grammar; the runtime's parser is IEEE
        // correctly rounded and returns ±infinity on overflow rather than failing.
        return double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN;
    }
}
