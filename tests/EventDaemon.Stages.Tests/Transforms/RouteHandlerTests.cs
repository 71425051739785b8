using EventDaemon.Events;
using EventDaemon.Stages.Expressions;
using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;
using EventDaemon.Stages.Transforms;
using Xunit;

namespace EventDaemon.Stages.Tests.Transforms;

public class RouteHandlerTests
{
    // Bits as the pipeline builder would hand them out: other stages own 0 and 1.
    private const int HighBit = 2;
    private const int PurchaseBit = 3;
    private const int LevelBit = 4;
    private const int UnmatchedBit = 5;

    private static readonly Reach FromSourceZero = new(SourceMask: 1, PassMask: 0);

    private static RouteHandler Route(TestRing ring, StageMetrics metrics, Reach? reach = null) => new(
        ring.Ring.Reader,
        [Compile("value > 100"), Compile("type == \"purchase\""), Compile(".level == 3")],
        [HighBit, PurchaseBit, LevelBit],
        UnmatchedBit,
        reach ?? FromSourceZero,
        metrics);

    [Theory]
    [InlineData("""{"type":"purchase","value":150}""", new[] { HighBit, PurchaseBit }, "meets two conditions: both outputs get it")]
    [InlineData("""{"type":"purchase","value":5}""", new[] { PurchaseBit }, "meets one condition")]
    [InlineData("""{"type":"view","value":500,"level":3}""", new[] { HighBit, LevelBit }, "meets two other conditions")]
    [InlineData("""{"type":"view","value":5}""", new[] { UnmatchedBit }, "meets none: only _unmatched gets it")]
    [InlineData("""{"key":"k"}""", new[] { UnmatchedBit }, "lacks every field a condition reads")]
    [InlineData("""{"type":"view","level":"3"}""", new[] { UnmatchedBit }, "a string is never equal to a number")]
    [InlineData("""{"type":"view","level":3.0}""", new[] { LevelBit }, "3.0 == 3 as numbers")]
    public void Event_GoesToEveryOutputWhoseConditionHolds(string json, int[] passes, string why)
    {
        using var ring = new TestRing();
        StageMetrics metrics = StageDriver.Metrics("route");
        RouteHandler route = Route(ring, metrics);
        ulong marks = StageDriver.Push(ref route, ring, json);

        foreach (int bit in new[] { HighBit, PurchaseBit, LevelBit, UnmatchedBit })
        {
            bool expectedPass = passes.Contains(bit);
            bool passed = (marks & (1UL << bit)) == 0;
            Assert.True(passed == expectedPass, $"{json} {why}: output bit {bit} should {(expectedPass ? "let it through" : "be set")}; marks = {marks:b}");
            Assert.True(new Reach(0, 1UL << bit).Delivers(in ring[ring.Cursor]) == expectedPass, $"{json}: a stage reading output bit {bit} should {(expectedPass ? "" : "not ")}receive it");
        }

        Assert.True((marks & 0b11) == 0, $"the route must not touch bits it does not own; marks = {marks:b}");
        Assert.True(metrics.Processed == 1, $"one event reached the route, processed {metrics.Processed}");
    }

    [Fact]
    public void EventThatDoesNotReachTheRoute_IsBlockedOnEveryOutput()
    {
        using var ring = new TestRing();
        StageMetrics metrics = StageDriver.Metrics("route");
        RouteHandler route = Route(ring, metrics);
        ulong marks = StageDriver.Push(ref route, ring, """{"type":"purchase","value":150}""", sourceId: 1);

        ulong all = (1UL << HighBit) | (1UL << PurchaseBit) | (1UL << LevelBit) | (1UL << UnmatchedBit);
        Assert.True(marks == all, $"an event from a source the route does not read should pass no output, _unmatched included; marks = {marks:b}");
        Assert.True(metrics.Processed == 0, $"it did not reach the route, so it is not processed; processed {metrics.Processed}");
    }

    [Fact]
    public void MarksOfOtherStages_ArePreserved()
    {
        using var ring = new TestRing();
        RouteHandler route = Route(ring, StageDriver.Metrics("route"));
        long sequence = ring.AppendJson("""{"type":"purchase","value":150}""");
        ring[sequence].Marks = 1UL << 63;
        route.OnEvent(ref ring[sequence], sequence, true);
        Assert.True(ring[sequence].Marks == ((1UL << 63) | (1UL << LevelBit) | (1UL << UnmatchedBit)),
            $"a bit set by another stage must survive, and only non-matching outputs be added; marks = {ring[sequence].Marks:b}");
    }

    [Fact]
    public void RouteDownstreamOfAFilter_SeesOnlyWhatTheFilterPassed()
    {
        using var ring = new TestRing();
        var filter = new FilterHandler(ring.Ring.Reader, Compile("key == \"keep\""), FromSourceZero, 0, StageDriver.Metrics("filter"));
        StageMetrics metrics = StageDriver.Metrics("route");
        RouteHandler route = Route(ring, metrics, new Reach(0, PassMask: 1UL << 0));
        long dropped = ring.AppendJson("""{"key":"drop","value":150}""");
        long kept = ring.AppendJson("""{"key":"keep","value":150}""");
        foreach (long s in new[] { dropped, kept })
        {
            filter.OnEvent(ref ring[s], s, true);
            route.OnEvent(ref ring[s], s, true);
        }

        Assert.True((ring[dropped].Marks & (1UL << UnmatchedBit)) != 0 && (ring[dropped].Marks & (1UL << HighBit)) != 0,
            $"an event the filter dropped should reach no output of the route; marks = {ring[dropped].Marks:b}");
        Assert.True((ring[kept].Marks & (1UL << HighBit)) == 0, $"the kept event should pass 'high'; marks = {ring[kept].Marks:b}");
        Assert.True(metrics.Processed == 1, $"only the kept event reaches the route; processed {metrics.Processed}");
    }

    [Fact]
    public void Constructor_RejectsSharedBitsAndMismatchedLengths()
    {
        using var ring = new TestRing();
        Assert.Throws<ArgumentException>(() => new RouteHandler(ring.Ring.Reader, [Compile("value > 0")], [2, 3], 4, FromSourceZero, StageDriver.Metrics("route")));
        Assert.Throws<ArgumentException>(() => new RouteHandler(ring.Ring.Reader, [Compile("value > 0"), Compile("value < 0")], [2, 2], 4, FromSourceZero, StageDriver.Metrics("route")));
        Assert.Throws<ArgumentException>(() => new RouteHandler(ring.Ring.Reader, [Compile("value > 0")], [4], 4, FromSourceZero, StageDriver.Metrics("route")));
    }

    internal static FilterProgram Compile(string condition)
    {
        Assert.True(FilterProgram.TryCompile(condition, out FilterProgram? program, out ExpressionError error), $"'{condition}' should compile: {error}");
        return program;
    }
}
