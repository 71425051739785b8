using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;
using EventDaemon.Stages.Transforms;
using Xunit;

namespace EventDaemon.Stages.Tests.Transforms;

public class DedupeHandlerTests
{
    private const int Bit = 11;
    private const long Second = 1_000_000_000;
    private static readonly Reach FromSourceZero = new(SourceMask: 1, PassMask: 0);

    private static DedupeHandler Dedupe(TestRing ring, string field, long window, int maxKeys, StageMetrics metrics) =>
        new(ring.Ring.Reader, FieldSelector.Parse(field), window, maxKeys, FromSourceZero, Bit, metrics);

    [Fact]
    public void Repeat_WithinWindowOfLastPass_IsDropped_AndCounted()
    {
        using var ring = new TestRing();
        StageMetrics metrics = StageDriver.Metrics("dedupe");
        DedupeHandler dedupe = Dedupe(ring, ".id", Second, 100, metrics);
        long t0 = 1_000 * Second;
        (long At, bool Passes)[] steps =
        [
            (t0, true),
            (t0 + (Second / 2), false),
            (t0 + Second - 1, false),
            (t0 + Second, true),                    // a whole window after the last pass
            (t0 + (Second * 3 / 2), false),
            (t0 + (Second * 19 / 10), false),       // repeats do not extend the window
            (t0 + (2 * Second), true),
        ];
        foreach ((long at, bool passes) in steps)
        {
            Assert.True(Passes(ref dedupe, ring, """{"id":"x"}""", at) == passes, $"id x at +{at - t0} ns should {(passes ? "pass" : "be dropped")}");
        }

        Assert.True(metrics.Duplicates == 4, $"four repeats should be counted as duplicates, {metrics.Duplicates} were");
    }

    [Fact]
    public void DistinctValues_Spellings_Types_AndMissingFields()
    {
        using var ring = new TestRing();
        DedupeHandler dedupe = Dedupe(ring, ".id", Second, 100, StageDriver.Metrics("dedupe"));
        const long T = 5 * Second;
        Assert.True(Passes(ref dedupe, ring, """{"id":"a"}""", T), "a first");
        Assert.True(Passes(ref dedupe, ring, """{"id":"b"}""", T), "another value is not a repeat");
        Assert.False(Passes(ref dedupe, ring, """{"id":"\u0061"}""", T), "\"\\u0061\" is \"a\": a repeat");
        Assert.True(Passes(ref dedupe, ring, """{"id":1}""", T), "the number 1 is new");
        Assert.False(Passes(ref dedupe, ring, """{"id":"1"}""", T), "the string \"1\" has the text of the number 1: a repeat (values compare by text)");
        Assert.True(Passes(ref dedupe, ring, """{"id":1.0}""", T), "1.0 is another text than 1");
        for (int i = 0; i < 3; i++)
        {
            Assert.True(Passes(ref dedupe, ring, """{"other":"a"}""", T), "an event without the field always passes");
            Assert.True(Passes(ref dedupe, ring, """{"id":null}""", T), "a null field is no value: always passes");
        }

        Assert.True(dedupe.Remembered == 4, $"a, b, 1 and 1.0 are remembered (missing values are not): {dedupe.Remembered}");
    }

    [Fact]
    public void MaxKeys_Bounded_OldestForgottenFirst_AndCounted()
    {
        using var ring = new TestRing();
        StageMetrics metrics = StageDriver.Metrics("dedupe");
        const int MaxKeys = 64;
        DedupeHandler dedupe = Dedupe(ring, ".id", 1000 * Second, MaxKeys, metrics);
        for (int i = 0; i < 1000; i++)
        {
            Assert.True(Passes(ref dedupe, ring, $$"""{"id":"v{{i}}"}""", (i + 1) * Second), $"v{i} is new and must pass");
            Assert.True(dedupe.Remembered <= MaxKeys, $"after {i + 1} values {dedupe.Remembered} are remembered, more than max_keys {MaxKeys}");
        }

        Assert.True(metrics.Evicted > 0, "values forgotten within their window should be counted");
        Assert.False(Passes(ref dedupe, ring, """{"id":"v999"}""", 1001 * Second), "the most recent value is still remembered");
        Assert.False(Passes(ref dedupe, ring, """{"id":"v980"}""", 1001 * Second), "recent values are still remembered");
        Assert.True(Passes(ref dedupe, ring, """{"id":"v0"}""", 1001 * Second), "the oldest value was forgotten first, so its repeat passes");
    }

    [Fact]
    public void ExpiredEntries_AreReused_WithoutEvictingLiveOnes()
    {
        using var ring = new TestRing();
        StageMetrics metrics = StageDriver.Metrics("dedupe");
        DedupeHandler dedupe = Dedupe(ring, ".id", Second, 16, metrics);
        for (int i = 0; i < 2000; i++)
        {
            // 4 values per window, 16 slots: expired values make room, nothing live is forgotten.
            Assert.True(Passes(ref dedupe, ring, $$"""{"id":"v{{i}}"}""", i * Second / 4), $"v{i} is new");
        }

        Assert.True(metrics.Evicted == 0, $"no live value should be forgotten when expired ones make room; {metrics.Evicted} were");
        Assert.True(dedupe.Remembered <= 16, $"{dedupe.Remembered} remembered, more than max_keys");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomStream_MatchesReference(int seed)
    {
        using var ring = new TestRing();
        StageMetrics metrics = StageDriver.Metrics("dedupe");
        long window = Second / 3;
        DedupeHandler dedupe = Dedupe(ring, "key", window, 1000, metrics);
        var lastPassed = new Dictionary<string, long>();
        var random = new Random(seed);
        long now = 77 * Second;
        long duplicates = 0;
        for (int i = 0; i < 5000; i++)
        {
            now += random.Next(0, (int)(Second / 50));
            string key = "k" + random.Next(40);
            bool expected = !lastPassed.TryGetValue(key, out long last) || now - last >= window;
            if (expected)
            {
                lastPassed[key] = now;
            }

            duplicates += expected ? 0 : 1;
            Assert.True(Passes(ref dedupe, ring, $$"""{"key":"{{key}}"}""", now) == expected, $"seed {seed}, event {i}: {key} should {(expected ? "pass" : "be dropped")}");
        }

        Assert.True(metrics.Duplicates == duplicates && duplicates > 0, $"seed {seed}: {duplicates} duplicates expected, {metrics.Duplicates} counted");
    }

    private static bool Passes(ref DedupeHandler dedupe, TestRing ring, string json, long arrival) =>
        (StageDriver.Push(ref dedupe, ring, json, ingestNanos: arrival) & (1UL << Bit)) == 0;
}
