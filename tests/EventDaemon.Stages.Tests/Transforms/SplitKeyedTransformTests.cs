using System.Globalization;
using EventDaemon.Events;
using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;
using EventDaemon.Stages.Transforms;
using Xunit;

namespace EventDaemon.Stages.Tests.Transforms;

/// <summary>
/// Sample, throttle and dedupe split over threads by their key (<c>threads = 4</c>) decide every
/// event exactly as one thread does: each key's state lives on one thread. The same events, with the
/// same arrival times, go through one handler and through four; the marks must match event by event.
/// </summary>
public class SplitKeyedTransformTests
{
    private const int Bit = 11;
    private const int Events = 6000;
    private static readonly Reach FromSourceZero = new(SourceMask: 1, PassMask: 0);

    [Fact]
    public void Throttle_ByKey_OnFourThreads_DecidesAsOnOne()
    {
        var key = FieldSelector.Parse(".user");
        AssertSameDecisions("throttle", (ring, metrics, partition) =>
            new ThrottleHandler(ring.Ring.Reader, 3, key, 10_000, FromSourceZero, Bit, metrics, wallOffsetNanos: 0, partition), key);
    }

    [Fact]
    public void Dedupe_ByField_OnFourThreads_DecidesAsOnOne()
    {
        var field = FieldSelector.Parse(".user");
        AssertSameDecisions("dedupe", (ring, metrics, partition) =>
            new DedupeHandler(ring.Ring.Reader, field, 50_000_000, 10_000, FromSourceZero, Bit, metrics, partition), field);
    }

    [Fact]
    public void Sample_ByKey_OnFourThreads_DecidesAsOnOne()
    {
        var key = FieldSelector.Parse("key");
        AssertSameDecisions("sample", (ring, metrics, partition) =>
            new SampleHandler(ring.Ring.Reader, 3, key, FromSourceZero, Bit, metrics, partition), key);
    }

    private static void AssertSameDecisions<THandler>(string type, Func<TestRing, StageMetrics, Partition, THandler> create, FieldSelector key)
        where THandler : struct, EventDaemon.Ring.IEventHandler<EventSlot>
    {
        using var ring = new TestRing(8192, 1 << 22);
        var random = new Random(7);
        long first = ring.Cursor + 1;
        for (int i = 0; i < Events; i++)
        {
            // ~100 users, some of them spelled with an escape, and events without the field at all.
            int user = random.Next(100);
            string json = random.Next(25) == 0
                ? """{"type":"x"}"""
                : $$"""{"user":"{{(user % 7 == 0 ? "u\\u0073" : "us")}}{{user.ToString(CultureInfo.InvariantCulture)}}","key":"k{{(user % 13).ToString(CultureInfo.InvariantCulture)}}"}""";
            long sequence = ring.AppendJson(json);
            // Arrivals 0.1 ms apart: throttle seconds and dedupe windows both come and go.
            ring[sequence].IngestNanos = 1_764_151_200_000_000_000 + (i * 100_000L);
        }

        bool[] single = Run(ring, first, [create(ring, StageDriver.Metrics(type), Partition.Whole)]);
        var metrics = StageDriver.Metrics(type);
        StageMetrics[] parts = metrics.Split(4);
        THandler[] split = [.. Enumerable.Range(0, 4).Select(i => create(ring, parts[i], Partition.BySelector(i, 4, key)))];
        bool[] splitDecisions = Run(ring, first, split);

        int dropped = single.Count(pass => !pass);
        Assert.True(dropped > 0 && dropped < Events, $"{type}: the stream should have both outcomes, {dropped} of {Events} dropped");
        for (int i = 0; i < Events; i++)
        {
            Assert.True(single[i] == splitDecisions[i], $"{type}: event {i} {(single[i] ? "passed" : "was dropped")} on one thread but not on four");
        }

        Assert.True(metrics.Processed == Events && parts.All(p => p.Processed > 0),
            $"{type}: every event processed once, by one of four threads that all got some: {string.Join(", ", parts.Select(p => p.Processed))}");
    }

    /// <summary>Each handler sees every event in order, as from its own barrier; returns whether each event passed.</summary>
    private static bool[] Run<THandler>(TestRing ring, long first, THandler[] handlers)
        where THandler : struct, EventDaemon.Ring.IEventHandler<EventSlot>
    {
        var passed = new bool[Events];
        for (int i = 0; i < Events; i++)
        {
            long sequence = first + i;
            ring[sequence].Marks = 0;
            for (int h = 0; h < handlers.Length; h++)
            {
                handlers[h].OnEvent(ref ring[sequence], sequence, endOfBatch: true);
            }

            passed[i] = (ring[sequence].Marks & (1UL << Bit)) == 0;
        }

        return passed;
    }
}
