namespace EventDaemon.Stages.Aggregation;

/// <summary>A group's quantiles for its output line: from its sorted exact values, or from its sketch.</summary>
public readonly ref struct GroupQuantiles
{
    private readonly ReadOnlySpan<double> _sorted;
    private readonly ReadOnlySpan<uint> _bins;
    private readonly int _low;
    private readonly int _high;
    private readonly long _count;
    private readonly double _min;
    private readonly double _max;

    public GroupQuantiles(ReadOnlySpan<double> sorted)
    {
        _sorted = sorted;
        _count = sorted.Length;
    }

    /// <param name="high">the highest key seen: quantiles above the median are read down from it.</param>
    public GroupQuantiles(ReadOnlySpan<uint> bins, int low, int high, long count, double min, double max)
    {
        _bins = bins;
        _low = low;
        _high = high;
        _count = count;
        _min = min;
        _max = max;
    }

    /// <summary>Whether the values are exact (then so is every quantile).</summary>
    public bool Exact => _bins.IsEmpty;

    /// <summary>The value at rank ⌈q·n⌉ (exact), or the sketch's estimate of it (within 1 %).</summary>
    public double At(double q)
    {
        if (_bins.IsEmpty)
        {
            long rank = Math.Max(1, (long)Math.Ceiling(q * _count));
            return _sorted[(int)rank - 1];
        }

        return QuantileSketch.Quantile(_bins, _low, _high, _count, q, _min, _max);
    }
}
