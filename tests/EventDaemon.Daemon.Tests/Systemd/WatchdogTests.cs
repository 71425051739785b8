using EventDaemon.Daemon.Systemd;
using Xunit;

namespace EventDaemon.Daemon.Tests.Systemd;

public sealed class WatchdogTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The health function counts its calls, and the watchdog thread checks, pings, then checks
    /// again; so once the count has moved two past the moment health turned false, every ping
    /// still to come would have to follow a check that saw false. No sleeps, no timing thresholds:
    /// only the order of events on the watchdog's thread.
    /// </summary>
    [Fact]
    public void PingsWhileHealthy_StopsWhileUnhealthy_ResumesWhenHealthyAgain()
    {
        using DatagramReceiver receiver = DatagramReceiver.AtPath();
        using var notify = new SdNotify(receiver.NotifySocket);
        var health = new Health();
        var log = new List<string>();
        using var watchdog = new Watchdog(notify, TimeSpan.FromMilliseconds(5), health.Check, message => { lock (log) { log.Add(message); } });

        for (int i = 0; i < 3; i++)
        {
            Assert.Equal("WATCHDOG=1", receiver.Receive(Deadline));
        }

        health.Healthy = false;
        long flipped = health.Calls;
        Assert.True(Wait.Until(() => health.Calls >= flipped + 2, Deadline), "the watchdog stopped checking health");
        receiver.Pending(); // pings from checks that began before the flip
        long quietFrom = health.Calls;
        Assert.True(Wait.Until(() => health.Calls >= quietFrom + 5, Deadline), "the watchdog stopped checking health");
        List<string> whileUnhealthy = receiver.Pending();
        Assert.True(whileUnhealthy.Count == 0, $"{whileUnhealthy.Count} pings were sent across 5 checks that all answered unhealthy");
        Assert.False(watchdog.IsHealthy, "IsHealthy still true after unhealthy checks");

        long pings = watchdog.Pings;
        health.Healthy = true;
        Assert.Equal("WATCHDOG=1", receiver.Receive(Deadline));
        Assert.True(Wait.Until(() => watchdog.Pings > pings, Deadline), "Pings did not count the resumed ping");
        lock (log)
        {
            Assert.True(log.Count(m => m.Contains("stalled", StringComparison.Ordinal)) == 1, $"expected one 'stalled' message: {string.Join(" | ", log)}");
        }

        Assert.True(Wait.Until(() => { lock (log) { return log.Count(m => m.Contains("resumes", StringComparison.Ordinal)) == 1; } }, Deadline),
            $"expected one 'resumes' message: {string.Join(" | ", log)}");
    }

    [Fact]
    public void HealthCheckThatThrows_CountsAsUnhealthy_AndIsLoggedOnce()
    {
        using DatagramReceiver receiver = DatagramReceiver.AtPath();
        using var notify = new SdNotify(receiver.NotifySocket);
        long calls = 0;
        var log = new List<string>();
        using var watchdog = new Watchdog(
            notify,
            TimeSpan.FromMilliseconds(5),
            () => { Interlocked.Increment(ref calls); throw new InvalidOperationException("boom"); },
            message => { lock (log) { log.Add(message); } });

        Assert.True(Wait.Until(() => watchdog.Checks >= 5, Deadline), "the watchdog stopped checking");
        Assert.True(receiver.Pending().Count == 0, "a ping was sent although every health check threw");
        Assert.True(watchdog.Pings == 0, $"Pings = {watchdog.Pings}");
        lock (log)
        {
            Assert.True(log.Count(m => m.Contains("boom", StringComparison.Ordinal)) == 1, $"expected the failure logged once: {string.Join(" | ", log)}");
        }
    }

    [Fact]
    public void Dispose_StopsTheThread_AndIsIdempotent()
    {
        using DatagramReceiver receiver = DatagramReceiver.AtPath();
        using var notify = new SdNotify(receiver.NotifySocket);
        var watchdog = new Watchdog(notify, TimeSpan.FromHours(1), () => true);
        Assert.Equal("WATCHDOG=1", receiver.Receive(Deadline));

        // An hour-long wait must not delay Dispose: it wakes the thread rather than waiting it out.
        watchdog.Dispose();
        long checks = watchdog.Checks;
        watchdog.Dispose();
        Assert.True(checks == 1 && watchdog.Checks == 1, $"checks after Dispose: {watchdog.Checks}");
    }

    private sealed class Health
    {
        private long _calls;
        private volatile bool _healthy = true;

        public long Calls => Interlocked.Read(ref _calls);

        public bool Healthy
        {
            set => _healthy = value;
        }

        public bool Check()
        {
            // Count first, then read: a call counted after the flip is guaranteed to see it.
            Interlocked.Increment(ref _calls);
            return _healthy;
        }
    }
}
