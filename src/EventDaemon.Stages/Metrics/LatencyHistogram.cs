using System.Numerics;
using System.Runtime.CompilerServices;

namespace EventDaemon.Stages.Metrics;

/// <summary>
/// A log-linear histogram of nanosecond latencies: 128 linear sub-buckets per power of two, so
/// any reported quantile is within 1/128 (0.8 %) of the true value. One writer (the stage's
/// thread) records without locks or allocation; readers copy the counts and compute quantiles.
/// </summary>
/// <remarks>Values above 2^42 ns (~73 minutes) are clamped into the top bucket.</remarks>
public sealed class LatencyHistogram
{
    private const int SubBits = 7;
    private const int SubBuckets = 1 << SubBits;
    private const int MaxMsb = 42;
    private const int BucketCount = (MaxMsb - SubBits + 2) * SubBuckets;

    private readonly long[] _counts = new long[BucketCount];
    private readonly LatencyHistogram[] _parts = [];
    private long _max;
    private long _total;
    private long _sum;

    public LatencyHistogram()
    {
    }

    /// <summary>A read-only view summing <paramref name="parts"/>: the latency of a stage split over
    /// threads, each recording into its own part (one writer each).</summary>
    public LatencyHistogram(LatencyHistogram[] parts) => _parts = parts;

    /// <summary>The quantiles the stats socket reports, in its label spelling.</summary>
    public static readonly (double Quantile, string Label)[] ReportedQuantiles =
        [(0.5, "0.5"), (0.9, "0.9"), (0.99, "0.99"), (0.999, "0.999"), (0.9999, "0.9999"), (1.0, "1")];

    public long Count
    {
        get
        {
            long total = Volatile.Read(ref _total);
            foreach (LatencyHistogram part in _parts)
            {
                total += part.Count;
            }

            return total;
        }
    }

    private long Max
    {
        get
        {
            long max = Volatile.Read(ref _max);
            foreach (LatencyHistogram part in _parts)
            {
                max = Math.Max(max, part.Max);
            }

            return max;
        }
    }

    /// <summary>Nanoseconds of every recorded latency added up (the <c>_sum</c> of the Prometheus histogram).</summary>
    /// <remarks>Read with acquire semantics; may lag <see cref="Count"/> by one event.</remarks>
    public long Sum
    {
        get
        {
            long sum = Volatile.Read(ref _sum);
            foreach (LatencyHistogram part in _parts)
            {
                sum += part.Sum;
            }

            return sum;
        }
    }

    private long CountAt(int bucket)
    {
        long count = Volatile.Read(ref _counts[bucket]);
        foreach (LatencyHistogram part in _parts)
        {
            count += part.CountAt(bucket);
        }

        return count;
    }

    /// <summary>Records one latency. Single writer.</summary>
    /// <remarks>Plain stores: readers tolerate a count that is one event stale.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Record(long nanos)
    {
        if (nanos < 0)
        {
            nanos = 0;
        }

        _counts[Index(nanos)]++;
        if (nanos > _max)
        {
            _max = nanos;
        }

        _sum += nanos;
        Volatile.Write(ref _total, _total + 1);
    }

    /// <summary>
    /// Records the latency of the event at <paramref name="sequence"/> if it is sampled: the last
    /// event of every batch and one in <see cref="SampleEvery"/> besides. A clock read costs about as
    /// much as a filter's whole evaluation, so transforms sample; sinks record every event (they
    /// read the clock once per written batch).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RecordSampled(long sequence, bool endOfBatch, long ingestNanos)
    {
        if (endOfBatch || (sequence & (SampleEvery - 1)) == 0)
        {
            Record(Events.MonotonicClock.NowNanos() - ingestNanos);
        }
    }

    /// <summary>One event in this many (a power of two) is timed besides each batch's last.</summary>
    public const int SampleEvery = 64;

    /// <summary>The value at quantile <paramref name="q"/> (0..1); 1 gives the exact maximum; 0 when empty.</summary>
    public long ValueAt(double q)
    {
        long total = Count;
        if (total == 0)
        {
            return 0;
        }

        if (q >= 1.0)
        {
            return Max;
        }

        long rank = (long)Math.Ceiling(q * total);
        if (rank < 1)
        {
            rank = 1;
        }

        long seen = 0;
        for (int i = 0; i < BucketCount; i++)
        {
            seen += CountAt(i);
            if (seen >= rank)
            {
                // The bucket's midpoint keeps the error within half a bucket either way.
                long low = LowerBound(i);
                long high = LowerBound(i + 1);
                return Math.Min((low + high) / 2, Max);
            }
        }

        return Max;
    }

    /// <summary>
    /// Cumulative counts at ascending <paramref name="upperBounds"/> (nanoseconds), as a Prometheus
    /// histogram's <c>le</c> buckets: <paramref name="cumulative"/>[b] counts the recorded values
    /// whose bucket lies wholly at or below <paramref name="upperBounds"/>[b]. A value in the one
    /// bucket that straddles a bound counts under the next bound, so a bound is exact to 1/128 and
    /// never flatters: no value above it is ever counted under it. Returns the total, from the same
    /// reads, so the <c>+Inf</c> bucket and <c>_count</c> agree with the others.
    /// </summary>
    /// <remarks>Reader side only: the stage's thread keeps recording into the fine buckets.</remarks>
    public long CumulativeCounts(ReadOnlySpan<long> upperBounds, Span<long> cumulative)
    {
        if (cumulative.Length < upperBounds.Length)
        {
            throw new ArgumentException("one count per bound is needed", nameof(cumulative));
        }

        int b = 0;
        long running = 0;
        for (int i = 0; i < BucketCount; i++)
        {
            long largest = i == BucketCount - 1 ? long.MaxValue : LowerBound(i + 1) - 1;
            while (b < upperBounds.Length && largest > upperBounds[b])
            {
                cumulative[b++] = running;
            }

            running += CountAt(i);
        }

        while (b < upperBounds.Length)
        {
            cumulative[b++] = running;
        }

        return running;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Index(long value)
    {
        if (value < SubBuckets)
        {
            return (int)value;
        }

        int msb = 63 - BitOperations.LeadingZeroCount((ulong)value);
        if (msb > MaxMsb)
        {
            return BucketCount - 1;
        }

        int shift = msb - SubBits;
        return ((shift + 1) << SubBits) + (int)((value >> shift) - SubBuckets);
    }

    internal static long LowerBound(int index)
    {
        if (index < SubBuckets)
        {
            return index;
        }

        int shift = (index >> SubBits) - 1;
        long sub = (index & (SubBuckets - 1)) + SubBuckets;
        return sub << shift;
    }
}
