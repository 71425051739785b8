using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;
using EventDaemon.Stages.Transforms;
using Xunit;

namespace EventDaemon.Stages.Tests.Transforms;

public class ThrottleHandlerTests
{
    private const int Bit = 9;
    private const long Second = 1_000_000_000;
    private const long Base = 1_764_151_200 * Second;
    private static readonly Reach FromSourceZero = new(SourceMask: 1, PassMask: 0);

    // Arrival times are given as wall-clock nanoseconds: the handler's offset onto the wall clock is 0.
    private static ThrottleHandler Throttle(TestRing ring, int limit, string? key, int maxKeys, StageMetrics metrics) =>
        new(ring.Ring.Reader, limit, key is null ? null : FieldSelector.Parse(key), maxKeys, FromSourceZero, Bit, metrics, wallOffsetNanos: 0);

    [Fact]
    public void PerKey_AtMostLimitPerSecond_ExcessCounted()
    {
        using var ring = new TestRing();
        StageMetrics metrics = StageDriver.Metrics("throttle");
        ThrottleHandler throttle = Throttle(ring, 3, "key", 100, metrics);
        string seen = "";
        for (int i = 0; i < 5; i++)
        {
            seen += Passes(ref throttle, ring, """{"key":"a"}""", Base + (i * Second / 10)) ? "a" : "-";
            seen += Passes(ref throttle, ring, """{"key":"b"}""", Base + (i * Second / 10)) ? "b" : "-";
        }

        Assert.True(seen == "ababab----", $"each key should get 3 events in its second, the rest throttled: got '{seen}'");
        Assert.True(metrics.Throttled == 4 && metrics.Processed == 10, $"4 throttled of 10 should be counted: {metrics.Throttled} of {metrics.Processed}");
        Assert.True(Passes(ref throttle, ring, """{"key":"a"}""", Base + Second), "a new second should give the key a new budget");
    }

    [Fact]
    public void Seconds_AreAlignedToTheWallClock()
    {
        using var ring = new TestRing();
        ThrottleHandler throttle = Throttle(ring, 1, "key", 100, StageDriver.Metrics("throttle"));
        Assert.True(Passes(ref throttle, ring, """{"key":"a"}""", Base + (9 * Second / 10)), "the first event of a second passes");
        Assert.True(Passes(ref throttle, ring, """{"key":"a"}""", Base + (11 * Second / 10)), "0.2 s later, but across a whole second: a new budget");
        Assert.False(Passes(ref throttle, ring, """{"key":"a"}""", Base + (19 * Second / 10)), "within the same wall-clock second: over the limit");
    }

    [Fact]
    public void WithoutKey_OneBudgetForAllEvents()
    {
        using var ring = new TestRing();
        ThrottleHandler throttle = Throttle(ring, 2, null, 100, StageDriver.Metrics("throttle"));
        bool[] passes = new[] { "a", "b", "c", "d" }.Select(k => Passes(ref throttle, ring, $$"""{"key":"{{k}}"}""", Base)).ToArray();
        Assert.True(passes.SequenceEqual([true, true, false, false]), $"without key all events share the limit of 2: [{string.Join(",", passes)}]");
    }

    [Fact]
    public void EventsWithoutTheKey_ShareOneBudget_SpellingsOfOneKeyToo()
    {
        using var ring = new TestRing();
        ThrottleHandler throttle = Throttle(ring, 1, ".user", 100, StageDriver.Metrics("throttle"));
        Assert.True(Passes(ref throttle, ring, """{"type":"x"}""", Base), "the first event without the key passes");
        Assert.False(Passes(ref throttle, ring, """{"user":null}""", Base), "absent and null keys share one budget");
        Assert.True(Passes(ref throttle, ring, """{"user":"anna"}""", Base), "a real key has its own budget");
        Assert.False(Passes(ref throttle, ring, """{"user":"\u0061nna"}""", Base), "one key, two spellings: one budget");
    }

    [Fact]
    public void MaxKeys_FurtherKeysPassUntracked_Counted_AndTheTableNeverGrows()
    {
        using var ring = new TestRing();
        StageMetrics metrics = StageDriver.Metrics("throttle");
        ThrottleHandler throttle = Throttle(ring, 1, "key", 2, metrics);
        Assert.True(Passes(ref throttle, ring, """{"key":"a"}""", Base) && Passes(ref throttle, ring, """{"key":"b"}""", Base), "two keys fit");
        for (int i = 0; i < 3; i++)
        {
            Assert.True(Passes(ref throttle, ring, """{"key":"c"}""", Base + i), "a third key in the same second is over max_keys: let through untracked");
        }

        Assert.False(Passes(ref throttle, ring, """{"key":"a"}""", Base + 5), "tracked keys are still throttled");
        Assert.True(throttle.KeysThisSecond == 2, $"at most max_keys keys are tracked, {throttle.KeysThisSecond} are");
        Assert.True(metrics.KeysOverflow == 3, $"three events of an untracked key should be counted as overflow, {metrics.KeysOverflow} were");
        Assert.True(Passes(ref throttle, ring, """{"key":"c"}""", Base + Second) && !Passes(ref throttle, ring, """{"key":"c"}""", Base + Second + 1),
            "in the next second the key is tracked and throttled");
    }

    [Fact]
    public void ArrivalSlightlyOutOfOrder_CountsInTheCurrentSecond()
    {
        using var ring = new TestRing();
        ThrottleHandler throttle = Throttle(ring, 1, "key", 100, StageDriver.Metrics("throttle"));
        Assert.True(Passes(ref throttle, ring, """{"key":"a"}""", Base + Second + 1), "first event of second 1");
        Assert.False(Passes(ref throttle, ring, """{"key":"a"}""", Base + Second - 1), "an event stamped a little earlier by another source counts in the current second");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomStream_MatchesReference(int seed)
    {
        using var ring = new TestRing();
        const int Limit = 4;
        const int MaxKeys = 12;
        StageMetrics metrics = StageDriver.Metrics("throttle");
        ThrottleHandler throttle = Throttle(ring, Limit, ".user", MaxKeys, metrics);
        var random = new Random(seed);
        var counts = new Dictionary<string, int>();
        long second = long.MinValue;
        long now = Base;
        long throttled = 0, overflow = 0;
        for (int i = 0; i < 5000; i++)
        {
            now += random.Next(0, (int)(Second / 40));
            string user = "u" + random.Next(16);
            if (now / Second != second)
            {
                second = now / Second;
                counts.Clear();
            }

            bool expected;
            if (counts.TryGetValue(user, out int n))
            {
                expected = n < Limit;
                counts[user] = Math.Min(n + 1, Limit);
            }
            else if (counts.Count < MaxKeys)
            {
                counts[user] = 1;
                expected = true;
            }
            else
            {
                expected = true;
                overflow++;
            }

            throttled += expected ? 0 : 1;
            bool actual = Passes(ref throttle, ring, $$"""{"user":"{{user}}"}""", now);
            Assert.True(actual == expected, $"seed {seed}, event {i} ({user} at +{now - Base} ns): expected {(expected ? "pass" : "throttled")}");
        }

        Assert.True(metrics.Throttled == throttled && metrics.KeysOverflow == overflow,
            $"seed {seed}: throttled {metrics.Throttled} (expected {throttled}), overflow {metrics.KeysOverflow} (expected {overflow})");
        Assert.True(throttled > 0 && overflow > 0, $"seed {seed}: the stream should exercise both the limit and max_keys");
    }

    private static bool Passes(ref ThrottleHandler throttle, TestRing ring, string json, long arrival) =>
        (StageDriver.Push(ref throttle, ring, json, ingestNanos: arrival) & (1UL << Bit)) == 0;
}
