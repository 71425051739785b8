using System.Runtime.CompilerServices;
using EventDaemon.Stages.Metrics;
using Xunit;

namespace EventDaemon.Stages.Tests.Metrics;

public sealed class StageCountersLayoutTests
{
    [Fact]
    public void Counters_SitBetweenTwoCacheLinesOfPadding_OneFieldPerMeaning()
    {
        var counters = new StageCounters();
        long Offset(ref long field) => (long)Unsafe.ByteOffset(ref Unsafe.As<StageCounters, byte>(ref counters), ref Unsafe.As<long, byte>(ref field));

        Assert.True(Unsafe.SizeOf<StageCounters>() == 256, $"StageCounters is {Unsafe.SizeOf<StageCounters>()} bytes, not 64 + 128 + 64");
        Assert.True(Offset(ref counters.Processed) == 64, $"Processed at {Offset(ref counters.Processed)}: the leading cache line of padding is gone");
        (string Name, long Offset)[] fields =
        [
            ("Late", Offset(ref counters.Late)), ("Written", Offset(ref counters.Written)), ("Errors", Offset(ref counters.Errors)),
            ("DroppedMaxGroups", Offset(ref counters.DroppedMaxGroups)), ("Abandoned", Offset(ref counters.Abandoned)),
            ("Throttled", Offset(ref counters.Throttled)), ("Duplicates", Offset(ref counters.Duplicates)),
            ("SampledOut", Offset(ref counters.SampledOut)), ("KeysOverflow", Offset(ref counters.KeysOverflow)),
            ("Evicted", Offset(ref counters.Evicted)), ("EnrichHits", Offset(ref counters.EnrichHits)),
            ("EnrichMisses", Offset(ref counters.EnrichMisses)), ("DroppedKeyTooLong", Offset(ref counters.DroppedKeyTooLong)),
            ("DroppedOpenWindows", Offset(ref counters.DroppedOpenWindows)),
        ];
        for (int i = 0; i < fields.Length; i++)
        {
            Assert.True(fields[i].Offset == 72 + (8 * i), $"{fields[i].Name} at {fields[i].Offset}, expected {72 + (8 * i)}: counters overlap or leave gaps");
        }

        Assert.True(fields[^1].Offset + 8 <= 192, $"the last counter ends at {fields[^1].Offset + 8}: the trailing cache line of padding is gone");
    }

    [Theory]
    [InlineData("transform", "aggregate", StageType.Aggregate)]
    [InlineData("transform", "throttle", StageType.Throttle)]
    [InlineData("transform", "dedupe", StageType.Dedupe)]
    [InlineData("transform", "sample", StageType.Sample)]
    [InlineData("transform", "enrich", StageType.Enrich)]
    [InlineData("sink", "stdout", StageType.Sink)]
    [InlineData("sink", "", StageType.Sink)]
    [InlineData("transform", "", StageType.Other)]
    public void AStagesType_IsDecidedOnceFromItsConfigNames(string kind, string type, StageType expected)
    {
        var metrics = new StageMetrics("s", kind) { Type = type };
        Assert.True(metrics.Stage == expected, $"{kind} '{type}' is {metrics.Stage}, expected {expected}");
        Assert.True(metrics.Split(2).All(part => part.Stage == expected), "a split stage's threads must keep its type");
    }
}
