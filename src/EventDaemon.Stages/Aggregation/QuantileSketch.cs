using System.Runtime.CompilerServices;

namespace EventDaemon.Stages.Aggregation;

/// <summary>
/// A relative-error quantile sketch (the DDSketch mapping) in a fixed array of counters. A value's
/// bucket is ⌈L(|v|)·m⌉, where L approximates log2 from the double's bits: its exponent plus a
/// cubic in its mantissa (DDSketch's cubically interpolated mapping: no <c>Math.Log</c> per value).
/// ln v grows at most 0.7 per unit of L, so with m = 0.7/ln γ, γ = (1 + α)/(1 − α), α = 1 %,
/// a bucket spans at most a factor γ and reports 2·lo·hi/(lo + hi), within 1 % of every value in
/// it. The array is a window of <see cref="Bins"/> consecutive buckets (about a 24 000× range of
/// magnitudes at α = 1 %); when a group's values span more than that, the lowest buckets merge,
/// so high quantiles keep the 1 % bound and only the lowest ones lose it.
/// </summary>
public static class QuantileSketch
{
    public const double RelativeError = 0.01;
    public const int Bins = 512;

    /// <summary>Keys of positive values are offset by this (and negatives mirrored), so every real maps to one ordered int.</summary>
    private const int Bias = 40_000;

    /// <summary>L(2^e·(1 + s)) = e + A·s³ + B·s² + C·s for s ∈ [0, 1): 0 at s = 0 and 1 at s = 1, so L is
    /// continuous and increasing across octaves; (1 + s)·dL/ds ≥ 10/7 (equal at s = 0 and 2/3), so
    /// d(ln v)/dL = 1/((1 + s)·dL/ds) ≤ 0.7.</summary>
    private const double A = 6.0 / 35.0;
    private const double B = -3.0 / 5.0;
    private const double C = 10.0 / 7.0;

    /// <summary>The largest d(ln v)/dL: a bucket of width 1/m in L spans at most this·(1/m) in ln.</summary>
    public const double MaxLnPerL = 0.7;

    /// <summary>Buckets per unit of L (about one octave): 0.7/ln γ · (1 + 1e-9), a test pins the
    /// literal to that formula. The 1e-9 margin keeps a bucket's span strictly under γ so that
    /// rounding in L cannot push an edge value past the 1 % bound. A constant, not a static
    /// readonly computed with Math.Log: under Native AOT that would put a class-constructor check
    /// on every key.</summary>
    public const double KeysPerOctave = 34.99883333721958;

    private const long ExponentMask = 0x7FF0_0000_0000_0000;
    private const long MantissaMask = 0x000F_FFFF_FFFF_FFFF;
    private const long OneBits = 0x3FF0_0000_0000_0000;

    /// <summary>The ordered key of a value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Key(double value)
    {
        if (value == 0 || double.IsNaN(value))
        {
            return 0;
        }

        long bits = BitConverter.DoubleToInt64Bits(value);
        // The exponent field unbiased (subnormals read as 2^-1023 · 1.f: still ordered, just
        // outside the bound, as before); the mantissa as s ∈ [0, 1).
        int exponent = (int)((bits & ExponentMask) >> 52) - 1023;
        double s = BitConverter.Int64BitsToDouble((bits & MantissaMask) | OneBits) - 1;
        double l = (((((A * s) + B) * s) + C) * s) + exponent;
        // |l| ≤ 1024, so |index| ≤ about 36 000: inside ±Bias without a clamp.
        int index = Ceiling(l * KeysPerOctave) + Bias;
        // Negatives mirrored without a branch: sign is 0 or -1, and (x ^ -1) - (-1) = -x.
        int sign = (int)(bits >> 63);
        return (index ^ sign) - sign;
    }

    /// <summary>The representative value of a key: within <see cref="RelativeError"/> of every value mapped to it.</summary>
    public static double Value(int key)
    {
        if (key == 0)
        {
            return 0;
        }

        int index = Math.Abs(key) - Bias;
        double lo = InverseL((index - 1) / KeysPerOctave);
        double hi = InverseL(index / KeysPerOctave);
        // The harmonic mean of the edges is the point equally far, relatively, from both; written
        // as 2·lo/(1 + lo/hi) because lo·hi over- or underflows beyond 1e±154.
        double magnitude = double.IsInfinity(hi) ? lo : 2 * lo / (1 + (lo / hi));
        return key > 0 ? magnitude : -magnitude;
    }

    /// <summary>⌈x⌉ for |x| &lt; <see cref="CeilingOffset"/> without a branch (whether x is an
    /// integer plus a bit is a coin toss per value) or a rounding instruction: −⌊−x⌋, with the
    /// floor a truncation of the positive −x + offset. The sum rounds x to 2^-36, which moves a
    /// bucket edge by far less than the 1e-9 margin in <see cref="KeysPerOctave"/>; rounding is
    /// monotonic, so keys stay ordered.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Ceiling(double x) => CeilingOffset - (int)(CeilingOffset - x);

    /// <summary>2^16: above every |L·m| (at most about 35 900, subnormals and infinity included).</summary>
    private const int CeilingOffset = 1 << 16;

    /// <summary>The v with L(v) = l: the exponent is ⌊l⌋ and the mantissa solves the cubic (Cardano).</summary>
    private static double InverseL(double l)
    {
        double exponent = Math.Floor(l);
        double r = l - exponent;
        double d0 = (B * B) - (3 * A * C);
        double d1 = (2 * B * B * B) - (9 * A * B * C) - (27 * A * A * r);
        double p = Math.Cbrt((d1 - Math.Sqrt((d1 * d1) - (4 * d0 * d0 * d0))) / 2);
        double s = -(B + p + (d0 / p)) / (3 * A);
        return Math.ScaleB(1 + s, (int)exponent);
    }

    /// <summary>Adds a value. <paramref name="low"/> is the key of bins[0]; <paramref name="highKey"/> the largest key seen.</summary>
    /// <remarks>The bins must be all zero before the <paramref name="first"/> value: fresh memory
    /// is, and <see cref="Release"/> zeroes what a group used when it is freed — a few counters,
    /// where clearing the whole array per new group would cost 2 KiB of writes.</remarks>
    public static void Add(Span<uint> bins, ref int low, int key, int highKey, bool first)
    {
        if (first)
        {
            // Start with the value near the top: later values are as likely above as below, and
            // collapsing happens at the bottom.
            low = key - Bins / 2;
        }

        if (key >= low + Bins)
        {
            ShiftUp(bins, ref low, key - (Bins - 1));
        }
        else if (key < low)
        {
            // Room below only if everything seen still fits above the new key.
            int newLow = Math.Max(key, highKey - (Bins - 1));
            if (newLow < low)
            {
                ShiftDown(bins, ref low, newLow);
            }

            if (key < low)
            {
                key = low; // merged into the lowest bucket
            }
        }

        bins[key - low]++;
    }

    /// <summary>Zeroes the bins a group used (between its lowest and highest key), leaving the array as new.</summary>
    public static void Release(Span<uint> bins, int low, int lowestKey, int highKey)
    {
        int from = Math.Clamp(lowestKey - low, 0, Bins - 1);
        int to = Math.Clamp(highKey - low, 0, Bins - 1);
        if (to >= from)
        {
            bins[from..(to + 1)].Clear();
        }
    }

    /// <summary>The value at quantile <paramref name="q"/> of <paramref name="count"/> values (the sum of the bins), clamped to the exact min and max.</summary>
    /// <remarks>A quantile above the median is found from the top, starting at <paramref name="highKey"/>:
    /// p99 of a group reads a handful of counters instead of the ~500 below it.</remarks>
    public static double Quantile(ReadOnlySpan<uint> bins, int low, int highKey, long count, double q, double min, double max)
    {
        long rank = Math.Max(1, (long)Math.Ceiling(q * count));
        if (q <= 0.5)
        {
            long seen = 0;
            for (int i = 0; i < bins.Length; i++)
            {
                seen += bins[i];
                if (seen >= rank)
                {
                    return Math.Clamp(Value(low + i), min, max);
                }
            }

            return max;
        }

        // The answer is the lowest bin whose cumulative count reaches the rank: walking down, the
        // first bin below which fewer than rank values lie.
        long above = 0;
        for (int i = Math.Clamp(highKey - low, 0, bins.Length - 1); i >= 0; i--)
        {
            above += bins[i];
            if (count - above < rank)
            {
                return Math.Clamp(Value(low + i), min, max);
            }
        }

        return min;
    }

    private static void ShiftUp(Span<uint> bins, ref int low, int newLow)
    {
        int by = newLow - low;
        if (by >= Bins)
        {
            uint total = Sum(bins);
            bins.Clear();
            bins[0] = total;
        }
        else
        {
            uint merged = Sum(bins[..(by + 1)]);
            bins[(by + 1)..].CopyTo(bins[1..]);
            bins[0] = merged;
            bins[(Bins - by)..].Clear();
        }

        low = newLow;
    }

    private static void ShiftDown(Span<uint> bins, ref int low, int newLow)
    {
        int by = low - newLow;
        bins[..(Bins - by)].CopyTo(bins[by..]);
        bins[..by].Clear();
        low = newLow;
    }

    private static uint Sum(ReadOnlySpan<uint> bins)
    {
        uint total = 0;
        foreach (uint b in bins)
        {
            total += b;
        }

        return total;
    }
}
