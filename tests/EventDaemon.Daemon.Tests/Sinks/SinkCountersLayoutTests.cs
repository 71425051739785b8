using System.Runtime.CompilerServices;
using EventDaemon.Stages.Metrics;
using Xunit;

namespace EventDaemon.Daemon.Tests.Sinks;

public sealed class SinkCountersLayoutTests
{
    [Fact]
    public void Counters_SitBetweenTwoCacheLinesOfPadding()
    {
        var counters = new SinkCounters();
        long Offset(ref long field) => (long)Unsafe.ByteOffset(ref Unsafe.As<SinkCounters, byte>(ref counters), ref Unsafe.As<long, byte>(ref field));

        Assert.True(Unsafe.SizeOf<SinkCounters>() == 192, $"SinkCounters is {Unsafe.SizeOf<SinkCounters>()} bytes, not 64 + 64 + 64");
        Assert.True(Offset(ref counters.Resent) == 64, $"Resent at {Offset(ref counters.Resent)}: the leading cache line of padding is gone");
        Assert.True(Offset(ref counters.BlockedSince) == 72, $"BlockedSince at {Offset(ref counters.BlockedSince)}");
        Assert.True(Offset(ref counters.Pending) == 80, $"Pending at {Offset(ref counters.Pending)}");
        Assert.True(Offset(ref counters.UnblockedAt) == 88, $"UnblockedAt at {Offset(ref counters.UnblockedAt)}: the last counter must end before byte 128");
    }
}
