using System.Text;
using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;
using EventDaemon.Stages.Transforms;
using Xunit;

namespace EventDaemon.Stages.Tests.Transforms;

public class SampleHandlerTests
{
    private const int Bit = 7;
    private static readonly Reach FromSourceZero = new(SourceMask: 1, PassMask: 0);

    [Fact]
    public void WithoutKey_EveryRateThEventPasses_StartingWithTheFirst()
    {
        using var ring = new TestRing();
        StageMetrics metrics = StageDriver.Metrics("sample");
        var sample = new SampleHandler(ring.Ring.Reader, 4, null, FromSourceZero, Bit, metrics);
        var passed = new List<int>();
        for (int i = 0; i < 1000; i++)
        {
            // Identical lines: a payload hash would keep all or none of them.
            if ((StageDriver.Push(ref sample, ring, """{"type":"ping"}""") & (1UL << Bit)) == 0)
            {
                passed.Add(i);
            }
        }

        Assert.True(passed.Count == 250 && passed.All(i => i % 4 == 0), $"events 0, 4, 8, … should pass: 250 expected, {passed.Count} passed, first [{string.Join(",", passed.Take(5))}]");
        Assert.True(metrics.SampledOut == 750 && metrics.Processed == 1000, $"750 sampled out should be counted of 1000 processed: {metrics.SampledOut} of {metrics.Processed}");
    }

    [Fact]
    public void WithKey_AllEventsOfAKeyShareOneDecision_AboutOneKeyInRateKept()
    {
        using var ring = new TestRing();
        const int Rate = 10;
        var sample = new SampleHandler(ring.Ring.Reader, Rate, FieldSelector.Parse("key"), FromSourceZero, Bit, StageDriver.Metrics("sample"));
        int keysKept = 0;
        const int Keys = 5000;
        for (int k = 0; k < Keys; k++)
        {
            bool first = Passes(ref sample, ring, $$"""{"key":"user-{{k}}","n":1}""");
            bool second = Passes(ref sample, ring, $$"""{"n":2,"key":"user-{{k}}"}""");
            Assert.True(first == second, $"key user-{k}: every event of a key should get the same decision");
            Assert.True(first == SampleHandler.Keeps(Encoding.UTF8.GetBytes($"user-{k}"), Rate), $"key user-{k}: the decision should be the documented hash rule");
            keysKept += first ? 1 : 0;
        }

        // Binomial(5000, 0.1): mean 500, σ ≈ 21; six σ either way.
        Assert.True(keysKept is > 374 and < 626, $"about 1 key in {Rate} should be kept: {keysKept} of {Keys}");
    }

    [Fact]
    public void WithKey_DecisionIsByValueNotSpelling()
    {
        using var ring = new TestRing();
        for (int rate = 2; rate < 40; rate++)
        {
            var sample = new SampleHandler(ring.Ring.Reader, rate, FieldSelector.Parse(".user"), FromSourceZero, Bit, StageDriver.Metrics("sample"));
            bool plain = Passes(ref sample, ring, """{"user":"anna"}""");
            bool escaped = Passes(ref sample, ring, """{"user":"\u0061nna"}""");
            Assert.True(plain == escaped, $"rate {rate}: \"anna\" and \"\\u0061nna\" are one value and must get one decision");
        }
    }

    [Fact]
    public void WithKey_EventsWithoutTheKeyFallBackToOneInRate()
    {
        using var ring = new TestRing();
        var sample = new SampleHandler(ring.Ring.Reader, 3, FieldSelector.Parse(".user"), FromSourceZero, Bit, StageDriver.Metrics("sample"));
        int passed = 0;
        for (int i = 0; i < 300; i++)
        {
            passed += Passes(ref sample, ring, i % 2 == 0 ? """{"type":"x"}""" : """{"user":null}""") ? 1 : 0;
        }

        Assert.True(passed == 100, $"events without the key (absent or null) should be sampled 1 in 3 by count: 100 expected, {passed} passed");
    }

    [Fact]
    public void RateOne_KeepsEverything_AndUnreachedEventsAreMarked()
    {
        using var ring = new TestRing();
        StageMetrics metrics = StageDriver.Metrics("sample");
        var sample = new SampleHandler(ring.Ring.Reader, 1, FieldSelector.Parse("key"), FromSourceZero, Bit, metrics);
        Assert.True(Passes(ref sample, ring, """{"key":"a"}""") && Passes(ref sample, ring, """{"type":"b"}"""), "rate 1 should keep every event");
        ulong marks = StageDriver.Push(ref sample, ring, """{"key":"a"}""", sourceId: 3);
        Assert.True(marks == 1UL << Bit && metrics.Processed == 2 && metrics.SampledOut == 0,
            $"an event that does not reach the stage is marked but neither processed nor counted as sampled out: marks {marks:b}, processed {metrics.Processed}, dropped {metrics.SampledOut}");
        Assert.Throws<ArgumentOutOfRangeException>(() => new SampleHandler(ring.Ring.Reader, 0, null, FromSourceZero, Bit, metrics));
    }

    private static bool Passes(ref SampleHandler sample, TestRing ring, string json) => (StageDriver.Push(ref sample, ring, json) & (1UL << Bit)) == 0;
}
