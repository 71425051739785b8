using EventDaemon.Events.Fields;
using EventDaemon.Stages.Expressions;
using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;
using EventDaemon.Stages.Transforms;
using EventDaemon.Tests.Shared;
using Xunit;

namespace EventDaemon.Stages.Tests.Transforms;

/// <summary>Each marking transform, in steady state, allocates nothing per event: a million events each.</summary>
[Collection(AllocationMeasurements.Name)]
public class TransformZeroAllocationTests
{
    private const int Events = 1_000_000;
    private const long Second = 1_000_000_000;
    private static readonly Reach FromSourceZero = new(SourceMask: 1, PassMask: 0);

    [Fact]
    public void Route_AllocatesNothing()
    {
        using var ring = new TestRing();
        var route = new RouteHandler(ring.Ring.Reader,
            [RouteHandlerTests.Compile("value > 100"), RouteHandlerTests.Compile("type == \"purchase\" && starts_with(key, \"user-\")"), RouteHandlerTests.Compile(".region in [\"eu\", \"us\"]")],
            [1, 2, 3], 4, FromSourceZero, StageDriver.Metrics("route"));
        AssertNoAllocation(ref route, ring, "route");
    }

    [Fact]
    public void Filter_ReadingTheDecodersRow_AllocatesNothing()
    {
        using var ring = new TestRing();
        FilterProgram program = RouteHandlerTests.Compile("value >= 10 && .region != \"ap\" && .n > 3 && (type == \"purchase\" || .region in [\"eu\", \"us\"])");
        var catalog = new FieldCatalog.Builder();
        foreach (string name in program.FieldNames)
        {
            catalog.AddField(name);
        }

        ring.Ring.UseCatalog(catalog.Build());
        StageMetrics metrics = StageDriver.Metrics("filter");
        var filter = new FilterHandler(ring.Ring.Reader, program, FromSourceZero, 0, metrics);
        AssertNoAllocation(ref filter, ring, "filter");
        Assert.True(metrics.Processed > 0, "the filter should have evaluated events");
    }

    [Fact]
    public void Sample_KeyedAndUnkeyed_AllocateNothing()
    {
        using var ring = new TestRing();
        var keyed = new SampleHandler(ring.Ring.Reader, 7, FieldSelector.Parse(".region"), FromSourceZero, 1, StageDriver.Metrics("sample"));
        AssertNoAllocation(ref keyed, ring, "keyed sample");
        var unkeyed = new SampleHandler(ring.Ring.Reader, 7, null, FromSourceZero, 1, StageDriver.Metrics("sample"));
        AssertNoAllocation(ref unkeyed, ring, "unkeyed sample");
    }

    [Fact]
    public void Throttle_WithSecondsRollingAndKeysOverflowing_AllocatesNothing()
    {
        using var ring = new TestRing();
        StageMetrics metrics = StageDriver.Metrics("throttle");
        var throttle = new ThrottleHandler(ring.Ring.Reader, 3, FieldSelector.Parse("key"), 8, FromSourceZero, 1, metrics, wallOffsetNanos: 0);
        AssertNoAllocation(ref throttle, ring, "throttle", (i, s) => ring[s].IngestNanos = i * (Second / 5000));
        Assert.True(metrics.Throttled > 0 && metrics.KeysOverflow > 0, $"the run should throttle and overflow max_keys: {metrics.Throttled}, {metrics.KeysOverflow}");
    }

    [Fact]
    public void Dedupe_WithSweepsAndEvictions_AllocatesNothing()
    {
        using var ring = new TestRing();
        StageMetrics metrics = StageDriver.Metrics("dedupe");
        var dedupe = new DedupeHandler(ring.Ring.Reader, FieldSelector.Parse(".n"), Second, 32, FromSourceZero, 1, metrics);
        AssertNoAllocation(ref dedupe, ring, "dedupe", (i, s) => ring[s].IngestNanos = i * (Second / 10_000));
        Assert.True(metrics.Duplicates > 0 && metrics.Evicted > 0, $"the run should drop repeats and forget values: {metrics.Duplicates}, {metrics.Evicted}");
    }

    [Fact]
    public void Enrich_AllocatesNothing()
    {
        using var ring = new TestRing();
        StageMetrics metrics = StageDriver.Metrics("enrich");
        EnrichTable table = EnrichTableTests.Parse("key,name\nuser-1,Anna\nuser-\"q\",Quote\n" + string.Concat(Enumerable.Range(0, 1000).Select(i => $"k{i},n{i}\n")));
        var enrich = new EnrichHandler(ring.Ring.Reader, FieldSelector.Parse("key"), table, FromSourceZero, 1, metrics);
        AssertNoAllocation(ref enrich, ring, "enrich");
        Assert.True(metrics.EnrichHits > 0 && metrics.EnrichMisses > 0, $"the run should hit and miss: {metrics.EnrichHits}, {metrics.EnrichMisses}");
    }

    private static void AssertNoAllocation<THandler>(ref THandler handler, TestRing ring, string what, Action<int, long>? before = null)
        where THandler : struct, EventDaemon.Ring.IEventHandler<EventDaemon.Events.EventSlot>
    {
        long[] sequences = MixedEvents(ring);
        using var gc = CollectionWatch.Start();
        long allocated = StageDriver.AllocatedBytes(ref handler, ring, sequences, Events, before);
        Assert.True(allocated == 0, $"{what}: {Events:N0} events allocated {allocated:N0} bytes on the stage thread; it must allocate nothing");
        Assert.True(gc.Collections == 0, $"{what}: no garbage collection should run while it works: {gc.Describe()}");
    }

    /// <summary>A mix of events: escaped and plain strings, numbers, missing fields, nested values.</summary>
    private static long[] MixedEvents(TestRing ring)
    {
        var sequences = new List<long>();
        for (int i = 0; i < 64; i++)
        {
            string key = i % 5 == 0 ? "user-\\\"q\\\"" : i % 3 == 0 ? $"\\u0075ser-{i % 4}" : $"k{i * 37 % 1500}";
            string region = i % 4 == 0 ? "" : $",\"region\":{(i % 4 == 1 ? "\"eu\"" : i % 4 == 2 ? "\"\\u0075s\"" : "7")}";
            sequences.Add(ring.AppendJson($$"""{"type":"{{(i % 2 == 0 ? "purchase" : "view")}}","key":"{{key}}","value":{{i * 7}},"n":{{i % 50}}{{region}},"x":[{"y":"}"}]}"""));
        }

        return [.. sequences];
    }
}
