using System.Runtime.CompilerServices;

namespace EventDaemon.Stages.Aggregation;

/// <summary>
/// A relative-error quantile sketch (the DDSketch mapping) in a fixed array of counters: value v
/// falls in bucket ⌈log_γ |v|⌉ with γ = (1 + α)/(1 − α), α = 1 %, and a bucket reports
/// 2γ^i/(γ + 1), within 1 % of every value in it. The array is a window of
/// <see cref="Bins"/> consecutive buckets (a 27 000× range of magnitudes at α = 1 %); when a group's
/// values span more than that, the lowest buckets merge, so high quantiles keep the 1 % bound and
/// only the lowest ones lose it.
/// </summary>
/// <remarks>Keys order all reals: negatives below zero below positives. Zero has its own key.</remarks>
public static class QuantileSketch
{
    public const double RelativeError = 0.01;
    public const int Bins = 512;

    /// <summary>Keys of positive values are offset by this (and negatives mirrored), so every real maps to one ordered int.</summary>
    private const int Bias = 40_000;

    private static readonly double Gamma = (1 + RelativeError) / (1 - RelativeError);
    private static readonly double InverseLogGamma = 1 / Math.Log(Gamma);

    /// <summary>The ordered key of a value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Key(double value)
    {
        if (value == 0 || double.IsNaN(value))
        {
            return 0;
        }

        double magnitude = Math.Abs(value);
        // Clamp so that denormals and huge values stay inside the key space.
        int index = (int)Math.Ceiling(Math.Clamp(Math.Log(magnitude) * InverseLogGamma, -Bias + 1, Bias - 1));
        return value > 0 ? index + Bias : -(index + Bias);
    }

    /// <summary>The representative value of a key: within <see cref="RelativeError"/> of every value mapped to it.</summary>
    public static double Value(int key)
    {
        if (key == 0)
        {
            return 0;
        }

        int index = Math.Abs(key) - Bias;
        double magnitude = 2 * Math.Pow(Gamma, index) / (Gamma + 1);
        return key > 0 ? magnitude : -magnitude;
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

    /// <summary>The value at quantile <paramref name="q"/> of <paramref name="count"/> values, clamped to the exact min and max.</summary>
    public static double Quantile(ReadOnlySpan<uint> bins, int low, long count, double q, double min, double max)
    {
        long rank = Math.Max(1, (long)Math.Ceiling(q * count));
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
