using System.Runtime.CompilerServices;

namespace EventDaemon.Stages.Expressions.Internal;

/// <summary>
/// Orders numbers by mathematical value. Doubles compare as doubles; exact 64-bit integers
/// (<c>ts</c>, integer literals) compare exactly, also against doubles, because nanosecond
/// timestamps exceed 2^53 and would round to the same double.
/// </summary>
internal static class NumberComparison
{
    /// <summary>Result when the operands have no order (a NaN); every comparison is then false.</summary>
    public const int Unordered = int.MinValue;

    // 2^63 as a double: the smallest double above every long (long.MaxValue rounds up to it).
    private const double TwoPow63 = 9223372036854775808.0;

    /// <summary>Integers up to this magnitude are exact as doubles, so a double comparison with them is exact.</summary>
    public const long ExactInDouble = 1L << 53;

    // A number token's digits read exactly into a long: 18 digits stay below 2^63.
    private const int LongDigits = 18;

    // A decimal of at most 15 significant digits survives the trip to a double and back: it never
    // rounds onto an integer it differs from (see TryCompareToken).
    private const int RoundTripDigits = 15;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Compare(bool aIsInteger, long aInteger, double aNumber, bool bIsInteger, long bInteger, double bNumber)
    {
        if (aIsInteger)
        {
            return bIsInteger ? aInteger.CompareTo(bInteger) : CompareLongDouble(aInteger, bNumber);
        }

        if (bIsInteger)
        {
            int c = CompareLongDouble(bInteger, aNumber);
            return c == Unordered ? Unordered : -c;
        }

        return aNumber < bNumber ? -1 : aNumber > bNumber ? 1 : aNumber == bNumber ? 0 : Unordered;
    }

    /// <summary>Exact comparison of a long with a double.</summary>
    public static int CompareLongDouble(long l, double d)
    {
        if (double.IsNaN(d))
        {
            return Unordered;
        }

        if (d >= TwoPow63)
        {
            return -1;
        }

        if (d < -TwoPow63)
        {
            return 1;
        }

        // -2^63 <= d < 2^63, so its floor converts to long without overflow.
        double floor = Math.Floor(d);
        long f = (long)floor;
        if (l != f)
        {
            return l < f ? -1 : 1;
        }

        return d > floor ? -1 : 0;
    }

    /// <summary>
    /// Compares a JSON number token (as the decoder located it, e.g. <c>12.5</c>) with a literal,
    /// reading the token only as far as the comparison needs: the same answer as converting the
    /// token (exactly for an integer, correctly rounded otherwise) and calling <see cref="Compare"/>.
    /// False when the token is not of a shape handled here (an exponent, too many digits, a decimal
    /// against a non-integer or huge literal): the caller then converts it.
    /// </summary>
    /// <remarks>
    /// An integer token of up to 18 digits is read exactly, as the conversion would. A decimal
    /// <c>w.f</c> against an integer literal L (|L| ≤ 2^53, exact as a double) is ordered by its whole
    /// part and whether its fraction is zero: w.f lies strictly between two integers, and rounding
    /// it to a double never reaches either of them while it has at most 15 significant digits
    /// (such a decimal is recovered from its double, which an integer it differs from would not
    /// be), and rounding is monotonic, so the double is on the same side of L as the decimal.
    /// </remarks>
    public static bool TryCompareToken(ReadOnlySpan<byte> token, bool literalIsInteger, long literal, double literalNumber, out int comparison)
    {
        comparison = 0;
        int i = 0;
        bool negative = !token.IsEmpty && token[0] == (byte)'-';
        if (negative)
        {
            i = 1;
        }

        long whole = 0;
        int digits = 0;
        while (i < token.Length)
        {
            uint digit = (uint)(token[i] - '0');
            if (digit > 9)
            {
                break;
            }

            whole = (whole * 10) + digit;
            digits++;
            i++;
        }

        if (digits == 0 || digits > LongDigits)
        {
            return false;
        }

        if (i == token.Length)
        {
            long integer = negative ? -whole : whole;
            comparison = literalIsInteger ? integer.CompareTo(literal) : CompareLongDouble(integer, literalNumber);
            return true;
        }

        if (token[i] != (byte)'.' || !literalIsInteger || literal > ExactInDouble || literal < -ExactInDouble)
        {
            return false;
        }

        bool fraction = false;
        for (i++; i < token.Length; i++)
        {
            uint digit = (uint)(token[i] - '0');
            if (digit > 9)
            {
                return false; // an exponent
            }

            fraction |= digit != 0;
            digits++;
        }

        if (digits > RoundTripDigits)
        {
            return false;
        }

        if (!negative)
        {
            // w.f against L: the whole part decides, and on a tie a non-zero fraction is above.
            comparison = whole != literal ? (whole < literal ? -1 : 1) : (fraction ? 1 : 0);
        }
        else
        {
            // -(w.f) lies in (-w - 1, -w]: at or below L when -w is, above L when -w - 1 is at least L.
            long ceiling = -whole;
            comparison = !fraction ? ceiling.CompareTo(literal) : ceiling <= literal ? -1 : 1;
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Apply(CompareOp op, int comparison) => comparison != Unordered && op switch
    {
        CompareOp.Equal => comparison == 0,
        CompareOp.NotEqual => comparison != 0,
        CompareOp.Less => comparison < 0,
        CompareOp.LessOrEqual => comparison <= 0,
        CompareOp.Greater => comparison > 0,
        _ => comparison >= 0,
    };
}
