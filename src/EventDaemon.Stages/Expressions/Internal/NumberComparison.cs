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
