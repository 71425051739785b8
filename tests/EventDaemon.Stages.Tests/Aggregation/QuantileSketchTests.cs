using CsCheck;
using EventDaemon.Stages.Aggregation;
using Xunit;

namespace EventDaemon.Stages.Tests.Aggregation;

/// <summary>
/// The sketch against exact quantiles (value at rank ⌈q·n⌉ of the sorted values). Within its range
/// (the largest and smallest magnitude of a group within a factor of about 27 000, one sign) every
/// quantile is within 1 % of the exact one. Beyond it, the lowest values merge into the lowest
/// bucket: quantiles that fall there are only known to lie between the minimum and that bucket's
/// value (these tests pin that down), while quantiles above it keep the 1 % bound.
/// </summary>
public class QuantileSketchTests
{
    private static readonly double[] Qs = [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1];

    /// <summary>2^((Bins − 1)/keys per octave): about the spread of magnitudes the bins cover without merging.</summary>
    private static readonly double Range = Math.Pow(2, (QuantileSketch.Bins - 1) / QuantileSketch.KeysPerOctave);

    public static TheoryData<string> FittingDistributions => ["uniform", "uniform-descending", "uniform-ascending", "lognormal-narrow", "negative", "constant", "exponential-tiny"];

    [Theory]
    [MemberData(nameof(FittingDistributions))]
    public void WithinRange_EveryQuantileWithinOnePercent(string distribution)
    {
        double[] values = Sample(distribution, new Random(distribution.Length), 20_000);
        double spread = values.Max(Math.Abs) / values.Min(Math.Abs);
        Assert.True(spread < Range / 2, $"{distribution}: the test data should fit the sketch's range ({spread:G3} vs {Range:G3})");
        var sketch = new Sketch();
        foreach (double v in values)
        {
            sketch.Add(v);
        }

        foreach (double q in Qs)
        {
            double exact = Exact(values, q);
            double got = sketch.Quantile(q);
            double error = Math.Abs(got - exact) / Math.Abs(exact);
            Assert.True(error <= LineCheck.QuantileTolerance, $"{distribution}: q={q} should be within 1% of {exact:R} but was {got:R} ({error:P3} off)");
        }
    }

    [Fact]
    public void WideLognormal_QuantilesAboveTheMergedBucketKeepTheBound_LowerOnesLieBetweenMinAndIt()
    {
        // σ = 3: the values span about 10^10, far more than the 27 000× the bins cover.
        double[] values = Sample("lognormal-wide", new Random(7), 20_000);
        var sketch = new Sketch();
        foreach (double v in values)
        {
            sketch.Add(v);
        }

        double mergedUpTo = QuantileSketch.Value(sketch.Low);
        int merged = 0;
        foreach (double q in Qs)
        {
            double exact = Exact(values, q);
            double got = sketch.Quantile(q);
            if (QuantileSketch.Key(exact) > sketch.Low)
            {
                double error = Math.Abs(got - exact) / exact;
                Assert.True(error <= LineCheck.QuantileTolerance, $"q={q} lies above the merged bucket, so it should be within 1% of {exact:R}, but was {got:R} ({error:P3} off)");
            }
            else
            {
                merged++;
                Assert.True(got >= values.Min() && got <= mergedUpTo * (1 + QuantileSketch.RelativeError),
                    $"q={q} lies in the merged bucket: it should be reported between the minimum {values.Min():R} and the bucket's value {mergedUpTo:R}, was {got:R}");
            }
        }

        Assert.True(merged > 0 && merged < Qs.Length - 3, $"with σ = 3 the lowest quantiles should merge and p90 and above should not; {merged} of {Qs.Length} merged");
        Assert.True(sketch.Quantile(0.99) > mergedUpTo, "p99 must never fall into the merged bucket for this data");
    }

    [Fact]
    public void MixedSigns_OutOfRange_NegativesMergeIntoTheLowestBucket()
    {
        // Negatives and positives are ~80 000 keys apart, always beyond the bins: the negatives
        // merge into the lowest (positive) bucket. High quantiles keep the bound; a quantile that
        // falls among the negatives is reported between the minimum and that bucket's value: here a
        // tiny positive number instead of a negative one. A known limit of one signed bin window.
        var random = new Random(3);
        double[] values = [.. Enumerable.Range(0, 1000).Select(_ => -1 - (random.NextDouble() * 99)), .. Enumerable.Range(0, 9000).Select(_ => 1 + (random.NextDouble() * 99))];
        var sketch = new Sketch();
        foreach (double v in values.OrderBy(_ => random.Next()))
        {
            sketch.Add(v);
        }

        foreach (double q in new[] { 0.5, 0.9, 0.99, 0.999 })
        {
            double exact = Exact(values, q);
            double got = sketch.Quantile(q);
            Assert.True(Math.Abs(got - exact) / exact <= LineCheck.QuantileTolerance, $"q={q} of mostly positive data should be within 1% of {exact:R}, was {got:R}");
        }

        double p01 = sketch.Quantile(0.01);
        double mergedUpTo = QuantileSketch.Value(sketch.Low);
        Assert.True(p01 >= values.Min() && p01 <= mergedUpTo && mergedUpTo > 0 && mergedUpTo < 0.01,
            $"p01 (exact {Exact(values, 0.01):R}) falls among the merged negatives: reported between the minimum and {mergedUpTo:R}, was {p01:R}");
    }

    [Fact]
    public void ZerosWithPositives_ZeroQuantilesReportedAsTinyValues()
    {
        // Zero has its own key, far below every positive key: zeros merge into the lowest bucket too.
        // A quantile that is exactly 0 is reported as a value between 0 and max / 27 000.
        var random = new Random(5);
        double[] values = [.. Enumerable.Repeat(0.0, 500), .. Enumerable.Range(0, 500).Select(_ => 1 + (random.NextDouble() * 99))];
        var sketch = new Sketch();
        foreach (double v in values.OrderBy(_ => random.Next()))
        {
            sketch.Add(v);
        }

        double p25 = sketch.Quantile(0.25);
        Assert.True(p25 >= 0 && p25 <= values.Max() / Range * 1.1, $"p25 is exactly 0: it should be reported between 0 and max / {Range:G3}, was {p25:R}");
        double p90 = sketch.Quantile(0.9);
        double exact = Exact(values, 0.9);
        Assert.True(Math.Abs(p90 - exact) / exact <= LineCheck.QuantileTolerance, $"p90 should be within 1% of {exact:R}, was {p90:R}");
    }

    [Fact]
    public void KeyAndValue_AnyFiniteValue_RepresentativeWithinOnePercentAndKeysOrdered()
    {
        Gen.Double.Where(double.IsFinite).Select(Gen.Double.Where(double.IsFinite)).Sample((a, b) =>
        {
            double va = QuantileSketch.Value(QuantileSketch.Key(a));
            bool aOk = a == 0 ? va == 0 : Math.Abs(va - a) <= LineCheck.QuantileTolerance * Math.Abs(a) || double.IsSubnormal(a) || Math.Abs(a) > 1e307;
            bool ordered = a > b ? QuantileSketch.Key(a) >= QuantileSketch.Key(b) : QuantileSketch.Key(a) <= QuantileSketch.Key(b);
            return aOk && ordered;
        });
    }

    [Fact]
    public void KeysPerOctave_IsTheSlopeBoundOverLnGamma_WithItsMargin()
    {
        double gamma = (1 + QuantileSketch.RelativeError) / (1 - QuantileSketch.RelativeError);
        double expected = QuantileSketch.MaxLnPerL / Math.Log(gamma) * (1 + 1e-9);
        Assert.True(Math.Abs(QuantileSketch.KeysPerOctave - expected) <= expected * 1e-15, $"the literal {QuantileSketch.KeysPerOctave:R} should be 0.7/ln γ·(1 + 1e-9) = {expected:R}");
    }

    [Fact]
    public void MaxLnPerL_BoundsTheMappingsSlopeOverEveryMantissa()
    {
        // d(ln v)/dL = 1/((1 + s)·P'(s)) for the cubic P of the mapping; its bound sets the bucket width.
        double worst = 0;
        for (int i = 0; i <= 1_000_000; i++)
        {
            double s = i / 1_000_000.0;
            double slope = 1 / ((1 + s) * ((18.0 / 35 * s * s) - (6.0 / 5 * s) + (10.0 / 7)));
            worst = Math.Max(worst, slope);
        }

        Assert.True(worst <= QuantileSketch.MaxLnPerL * (1 + 1e-12), $"ln v should grow at most {QuantileSketch.MaxLnPerL} per unit of L, grew {worst:R}");
        Assert.True(worst >= QuantileSketch.MaxLnPerL * (1 - 1e-9), $"the bound should be tight (the mapping's buckets no narrower than needed), the largest slope was {worst:R}");
    }

    [Fact]
    public void KeyAndValue_ValuesAcrossManyMagnitudes_RepresentativeWithinOnePercent()
    {
        // A geometric sweep from 1e-300 to 1e300, 0.05 % a step: about 70 steps per bucket, so
        // every bucket is hit near both of its edges, in every octave's mantissa range.
        double worst = 0;
        double worstAt = 0;
        for (double v = 1e-300; v < 1e300; v *= 1.0005)
        {
            foreach (double x in new[] { v, -v })
            {
                double error = Math.Abs(QuantileSketch.Value(QuantileSketch.Key(x)) - x) / Math.Abs(x);
                if (error > worst)
                {
                    worst = error;
                    worstAt = x;
                }
            }
        }

        Assert.True(worst <= QuantileSketch.RelativeError, $"every value should be within 1% of its key's value; the worst was {worstAt:R}, {worst:P6} off");
        Assert.True(worst > QuantileSketch.RelativeError * 0.95, $"the mapping should use nearly all of its error budget (buckets no narrower than needed), the worst was {worst:P6}");
    }

    [Fact]
    public void KeyAndValue_EitherSideOfEveryBucketEdge_WithinOnePercentAndOrdered()
    {
        // The edges themselves: the largest value of each key and the next double up, which
        // belongs to the next key. Rounding in the mapping must not break the bound at either.
        int edges = 0;
        for (int key = QuantileSketch.Key(1e-200); key < QuantileSketch.Key(1e200); key += 7)
        {
            double inside = QuantileSketch.Value(key);
            double step = inside * 0.002;
            // Walk up to the edge, then bisect it down to adjacent doubles.
            double below = inside;
            double above = inside + step;
            while (QuantileSketch.Key(above) == key)
            {
                below = above;
                above += step;
            }

            while (double.BitIncrement(below) < above)
            {
                double mid = below + ((above - below) / 2);
                if (mid <= below || mid >= above)
                {
                    break;
                }

                if (QuantileSketch.Key(mid) == key)
                {
                    below = mid;
                }
                else
                {
                    above = mid;
                }
            }

            Assert.Equal(key, QuantileSketch.Key(below));
            Assert.True(QuantileSketch.Key(above) == key + 1, $"the double just above key {key}'s edge {below:R} should map to the next key, got {QuantileSketch.Key(above)}");
            double errorBelow = Math.Abs(QuantileSketch.Value(key) - below) / below;
            double errorAbove = Math.Abs(QuantileSketch.Value(key + 1) - above) / above;
            Assert.True(errorBelow <= QuantileSketch.RelativeError && errorAbove <= QuantileSketch.RelativeError,
                $"at the edge of key {key} ({below:R} | {above:R}) both sides should be within 1% of their keys' values, were {errorBelow:P6} and {errorAbove:P6}");
            edges++;
        }

        Assert.True(edges > 1000, $"the sweep should cross many bucket edges, crossed {edges}");
    }

    [Fact]
    public void Value_OfEveryKeyInRange_MapsBackToThatKey()
    {
        for (int key = QuantileSketch.Key(1e-300); key <= QuantileSketch.Key(1e300); key++)
        {
            Assert.True(QuantileSketch.Key(QuantileSketch.Value(key)) == key, $"key {key}'s value {QuantileSketch.Value(key):R} should map back to it, mapped to {QuantileSketch.Key(QuantileSketch.Value(key))}");
            Assert.True(QuantileSketch.Key(-QuantileSketch.Value(key)) == -key, $"the negative of key {key}'s value should map to {-key}");
        }
    }

    private static double Exact(double[] values, double q)
    {
        double[] sorted = [.. values.Order()];
        long rank = Math.Max(1, (long)Math.Ceiling(q * sorted.Length));
        return sorted[rank - 1];
    }

    private static double[] Sample(string distribution, Random r, int n)
    {
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
        double[] values = new double[n];
        for (int i = 0; i < n; i++)
        {
            values[i] = distribution switch
            {
                "uniform" or "uniform-descending" or "uniform-ascending" => 1 + (r.NextDouble() * 999),
                "lognormal-narrow" => Math.Exp(Normal()),
                "lognormal-wide" => Math.Exp(3 * Normal()),
                "negative" => -1 - (r.NextDouble() * 999),
                "constant" => 42.5,
                "exponential-tiny" => 1e-12 * (1 - Math.Log(1 - r.NextDouble())),
                _ => throw new ArgumentException(distribution),
            };
        }

        if (distribution == "uniform-descending")
        {
            Array.Sort(values, (a, b) => b.CompareTo(a));
        }
        else if (distribution == "uniform-ascending")
        {
            Array.Sort(values);
        }

        if (distribution == "lognormal-narrow")
        {
            // Clip the rare far tail so the data fits (about 4.5 σ each side).
            for (int i = 0; i < n; i++)
            {
                values[i] = Math.Clamp(values[i], Math.Exp(-4.5), Math.Exp(4.5));
            }
        }

        return values;
    }

    /// <summary>One group's sketch, updated exactly as the aggregate updates it.</summary>
    private sealed class Sketch
    {
        private readonly uint[] _bins = new uint[QuantileSketch.Bins];
        private int _low;
        private int _high;
        private long _count;
        private double _min = double.PositiveInfinity;
        private double _max = double.NegativeInfinity;

        public int Low => _low;

        public void Add(double value)
        {
            int key = QuantileSketch.Key(value);
            _high = _count == 0 ? key : Math.Max(_high, key);
            QuantileSketch.Add(_bins, ref _low, key, _high, _count == 0);
            _count++;
            _min = Math.Min(_min, value);
            _max = Math.Max(_max, value);
        }

        public double Quantile(double q) => QuantileSketch.Quantile(_bins, _low, _high, _count, q, _min, _max);
    }
}
