using System.Diagnostics;
using EventDaemon.Daemon.Sinks;
using EventDaemon.Stages.Metrics;
using Xunit;

namespace EventDaemon.Daemon.Tests.Sinks;

/// <summary>What the monitor logs of a sink: each episode's start and end once, never every retry.</summary>
public sealed class SinkWatchTests
{
    private readonly List<string> _info = [];
    private readonly List<string> _warnings = [];
    private readonly StageMetrics _sink = new("out", "sink") { Type = "tcp" };
    private readonly SinkWatch _watch;

    public SinkWatchTests()
    {
        _watch = new SinkWatch(_info.Add, _warnings.Add);
    }

    [Fact]
    public void APeerThatCannotBeReached_IsLoggedOnceWhenItStartsFailing_AndOnceWhenItRecovers()
    {
        long now = Stopwatch.GetTimestamp();
        Check(now);
        for (int attempt = 1; attempt <= 5; attempt++)
        {
            _sink.Counters.Errors = attempt;
            _sink.LastError = $"tcp 127.0.0.1:9: cannot connect: 127.0.0.1: Connection refused; retrying in {attempt * 100} ms";
            Check(now + attempt * Stopwatch.Frequency);
        }

        Assert.True(_warnings.Count == 1 && _warnings[0].StartsWith("sink out failing: tcp 127.0.0.1:9: cannot connect", StringComparison.Ordinal),
            $"five failed attempts of one episode should log one warning naming the sink and the cause: {string.Join(" | ", _warnings)}");
        Assert.Empty(_info);

        _sink.LastError = null;
        Check(now + 6 * Stopwatch.Frequency);
        Check(now + 7 * Stopwatch.Frequency);
        Assert.True(_info.Count == 1 && _info[0].StartsWith("sink out recovered after ", StringComparison.Ordinal) && _info[0].Contains("(5 failed writes)", StringComparison.Ordinal),
            $"the recovery should be logged once with the count of failed writes: {string.Join(" | ", _info)}");
        Assert.True(_warnings.Count == 1, $"the recovery logged a warning: {string.Join(" | ", _warnings)}");
    }

    [Fact]
    public void AStall_IsLoggedOnceAfterTenSeconds_AndItsEndOnceWithHowLongAndHowManyWaited()
    {
        long start = Stopwatch.GetTimestamp();
        _sink.Sink.BlockedSince = start;
        _sink.Sink.Pending = 500;
        Check(start + 9 * Stopwatch.Frequency, lag: 1024);
        Assert.True(_warnings.Count == 0, $"a stall of 9 s was reported, under the 10 s threshold: {string.Join(" | ", _warnings)}");
        Assert.Null(SinkWatch.BlockedLine(_sink, 1024, start + 9 * Stopwatch.Frequency));

        for (int second = 10; second <= 20; second++)
        {
            Check(start + second * Stopwatch.Frequency, lag: 1024);
        }

        Assert.True(_warnings.Count == 1 && _warnings[0].StartsWith("sink out blocked: peer has not read for 10 s; 500 events held by the sink, 1024 waiting in the ring", StringComparison.Ordinal),
            $"a stall should be logged once, with the sink, how long and the counts: {string.Join(" | ", _warnings)}");
        Assert.True(SinkWatch.BlockedLine(_sink, 1024, start + 20 * Stopwatch.Frequency) == "sink out blocked: peer has not read for 20 s (500 events held by the sink, 1024 waiting in the ring)",
            $"health line: {SinkWatch.BlockedLine(_sink, 1024, start + 20 * Stopwatch.Frequency)}");

        _sink.Sink.BlockedSince = 0;
        _sink.Sink.Pending = 0;
        _sink.Sink.UnblockedAt = start + 30 * Stopwatch.Frequency;
        Check(start + 31 * Stopwatch.Frequency, lag: 0);
        Check(start + 32 * Stopwatch.Frequency, lag: 0);
        Assert.True(_info.Count == 1 && _info[0].StartsWith("sink out: peer reading again after 30.0 s blocked; up to 1524 events waited", StringComparison.Ordinal),
            $"the end of the stall should be logged once, timed to when the write went through: {string.Join(" | ", _info)}");
        Assert.Null(SinkWatch.BlockedLine(_sink, 0, start + 32 * Stopwatch.Frequency));
    }

    [Fact]
    public void AStallEndedByGivingUpTheBatch_SaysSo_NotThatThePeerReads()
    {
        long start = Stopwatch.GetTimestamp();
        _sink.Sink.BlockedSince = start;
        _sink.Sink.Pending = 700;
        Check(start + 12 * Stopwatch.Frequency);
        _sink.Counters.Abandoned = 700;
        _sink.Sink.BlockedSince = 0;
        _sink.Sink.Pending = 0;
        Check(start + 13 * Stopwatch.Frequency);
        Assert.True(_info.Count == 1 && _info[0].StartsWith("sink out: gave up its blocked batch after 13.0 s", StringComparison.Ordinal) && _info[0].EndsWith("700 events abandoned", StringComparison.Ordinal),
            $"a drain or reload that gave up on the stalled peer should be logged as such: {string.Join(" | ", _info)}");
    }

    [Fact]
    public void EventsResentAfterAReconnect_AreLoggedWhenTheCounterMoves()
    {
        long now = Stopwatch.GetTimestamp();
        Check(now);
        _sink.Sink.Resent = 42;
        Check(now + Stopwatch.Frequency);
        Check(now + 2 * Stopwatch.Frequency);
        Assert.True(_info.Count == 1 && _info[0] == "sink out: reconnected; 42 events of the interrupted batch sent again (sink_events_resent_total 42)",
            $"a resend should be logged once with its count: {string.Join(" | ", _info)}");
    }

    [Fact]
    public void ACheckThatLogsNothing_AllocatesNothing()
    {
        long now = Stopwatch.GetTimestamp();
        List<StageMetrics> stages = [_sink, new StageMetrics("f", "transform") { Type = "filter" }];
        Func<string, long> lagOf = _ => 0;
        _watch.Check(stages, lagOf, now);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 1; i <= 1000; i++)
        {
            _watch.Check(stages, lagOf, now + i);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"1000 quiet checks allocated {allocated} bytes: the monitor's tick would too");
        Assert.True(_info.Count == 0 && _warnings.Count == 0, $"a quiet sink was logged: {string.Join(" | ", _info.Concat(_warnings))}");
    }

    private void Check(long now, long lag = 0) => _watch.Check([_sink], _ => lag, now);
}
