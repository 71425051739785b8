using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

[Collection(IntegrationCollection.Name)]
public sealed class SystemdNotifyTests(ITestOutputHelper output)
{
    /// <summary>WATCHDOG_USEC = 1 s: the daemon pings every 0.5 s (half, as systemd advises).</summary>
    private static readonly TimeSpan PingInterval = TimeSpan.FromMilliseconds(500);

    private static string FileTopology(DaemonLayout l) => $"""
        [sources.in]
        type = "tcp"
        address = "{l.Address("in")}"
        format = "json"

        [sinks.out]
        type = "file"
        inputs = ["in"]
        path = "{l.File("out.jsonl")}"
        """;

    [Fact]
    public void NotifySocket_GetsReadyOnceBound_Status_ReloadingAroundSighup_AndStoppingOnSigterm()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, FileTopology);

        // READY=1 came only once the source was bound: connecting succeeds the moment it is seen.
        try
        {
            TestSockets.ConnectTcp(daemon.Layout.Port("in")).Dispose();
        }
        catch (SocketException e)
        {
            Assert.Fail($"READY=1 was sent before the source accepted connections: {e.Message}");
        }

        NotifyMessage status = daemon.Notify.WaitFor("STATUS=", m => m.Get("STATUS") is not null, daemon.ReadyIndex);
        Assert.True(status.Get("STATUS")!.Contains("events/s", StringComparison.Ordinal), $"STATUS should carry the rate: {status.Text}");

        long before = MonotonicMicroseconds();
        int from = daemon.Notify.Count;
        daemon.Signal(PosixSignal.SigHup);
        NotifyMessage reloading = daemon.Notify.WaitFor("RELOADING=1 after SIGHUP", m => m.Has("RELOADING=1"), from);
        long after = MonotonicMicroseconds();
        Assert.True(long.TryParse(reloading.Get("MONOTONIC_USEC"), NumberStyles.None, CultureInfo.InvariantCulture, out long usec),
            $"RELOADING=1 without MONOTONIC_USEC: {reloading.Text}");
        Assert.True(before <= usec && usec <= after, $"MONOTONIC_USEC={usec} is not CLOCK_MONOTONIC between the signal ({before}) and its arrival ({after})");
        daemon.Notify.WaitFor("READY=1 ending the reload", m => m.Has("READY=1"), reloading.Index + 1);

        // Still serving after the reload.
        TestSockets.SendTcp(daemon.Layout.Port("in"), "{\"type\":\"after-reload\"}\n");
        Eventually.True(() => SinkFile.CountLines(daemon.Layout.File("out.jsonl")) == 1, () => daemon.Stats().Json);

        from = daemon.Notify.Count;
        daemon.Signal(PosixSignal.SigTerm);
        daemon.Notify.WaitFor("STOPPING=1 after SIGTERM", m => m.Has("STOPPING=1"), from);
        Assert.True(daemon.WaitForExit() == 0, $"SIGTERM should drain and exit 0; stderr:\n{daemon.Stderr}");
    }

    [Fact]
    public void NotifySocket_WithAnAbstractName_GetsReadyAndStopping()
    {
        string name = $"eventd-it-{Environment.ProcessId}-{Guid.NewGuid():N}";
        using DaemonProcess daemon = DaemonProcess.Start(output, FileTopology, new DaemonOptions { AbstractNotifyName = name });
        Assert.True(daemon.Notify.NotifySocket == "@" + name, daemon.Notify.NotifySocket);
        Assert.True(daemon.Notify.Messages[daemon.ReadyIndex].Has("READY=1"), daemon.Notify.Describe());

        int from = daemon.Notify.Count;
        daemon.Signal(PosixSignal.SigTerm);
        daemon.Notify.WaitFor("STOPPING=1 after SIGTERM", m => m.Has("STOPPING=1"), from);
        Assert.True(daemon.WaitForExit() == 0, $"exit code after SIGTERM; stderr:\n{daemon.Stderr}");
    }

    [Fact]
    public void Watchdog_PingsWhileHealthy_AndStopsWhileAStageIsStalled()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, l => $"""
            [sources.in]
            type = "tcp"
            address = "{l.Address("in")}"
            format = "json"

            [sinks.out]
            type = "tcp"
            inputs = ["in"]
            address = "{l.Address("sink")}"
            """, new DaemonOptions
        {
            // A stalled sink cannot finish a drain: give up quickly when the test ends.
            DaemonSettings = "drain_timeout = \"1s\"",
            Environment = { ["WATCHDOG_USEC"] = "1000000", ["EVENTD_STALL_SECONDS"] = "1" },
        });
        using var listener = new SinkListener(daemon.Layout.Port("sink"));

        // Healthy and idle: pings keep coming.
        NotifyMessage first = daemon.Notify.WaitFor("WATCHDOG=1 while healthy", m => m.Has("WATCHDOG=1"));
        daemon.Notify.WaitFor("a second WATCHDOG=1 while healthy", m => m.Has("WATCHDOG=1"), first.Index + 1);

        // Fill the pipe towards a peer that never reads, and keep it full.
        bool stop = false;
        using Socket socket = TestSockets.ConnectTcp(daemon.Layout.Port("in"));
        socket.Blocking = false;
        var sender = new Thread(() =>
        {
            byte[] chunk = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"type\":\"fill\",\"pad\":\"" + new string('f', 100) + "\"}\n", 100)));
            int at = 0;
            while (!Volatile.Read(ref stop))
            {
                try
                {
                    at += socket.Send(chunk, at, chunk.Length - at, SocketFlags.None);
                    at %= chunk.Length;
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
                {
                    socket.Poll(100_000, SelectMode.SelectWrite);
                }
            }
        })
        { IsBackground = true, Name = "watchdog-filler" };
        sender.Start();

        try
        {
            // `health` names the stalled stage, and pings stop while the stall lasts. The check
            // covers several ping intervals of one stall episode (the stall age keeps growing);
            // a reconnect by the sink may end an episode, and then the next one is watched.
            string health = "";
            bool observed = false;
            DateTime deadline = DateTime.UtcNow + Eventually.DefaultTimeout;
            while (!observed && DateTime.UtcNow < deadline)
            {
                health = daemon.Control("health");
                if (StalledFor(health) is not { } startAge)
                {
                    Thread.Sleep(100);
                    continue;
                }

                // A ping sent before this reply is already queued (datagrams are delivered at send).
                int from = daemon.Notify.Count;
                Stopwatch watched = Stopwatch.StartNew();
                while (true)
                {
                    Thread.Sleep(100);
                    string now = daemon.Control("health");
                    if (StalledFor(now) is not { } age || age < startAge)
                    {
                        break; // the stall ended: watch the next one
                    }

                    NotifyMessage? ping = daemon.Notify.TryWaitFor(m => m.Has("WATCHDOG=1"), from, TimeSpan.Zero);
                    Assert.True(ping is null, $"WATCHDOG=1 was sent while health reported:\n{now}\n{daemon.Notify.Describe()}");
                    if (watched.Elapsed >= 3 * PingInterval && age > startAge)
                    {
                        observed = true;
                        health = now;
                        break;
                    }
                }
            }

            Assert.True(observed, $"no stall lasting several watchdog intervals was seen; last health:\n{health}\n{daemon.Stats().Json}");
            Assert.True(health.Contains("stage out stalled", StringComparison.Ordinal), $"health should name the stalled sink stage:\n{health}");
            output.WriteLine($"health while stalled:\n{health}");
        }
        finally
        {
            Volatile.Write(ref stop, true);
            sender.Join();
        }
    }

    /// <summary>How long health says the sink stage has been stalled, in whole seconds; null if it does not.</summary>
    private static int? StalledFor(string health)
    {
        foreach (string line in health.Split('\n'))
        {
            const string Prefix = "stage out stalled: no progress for ";
            if (line.StartsWith(Prefix, StringComparison.Ordinal))
            {
                string rest = line[Prefix.Length..];
                return int.Parse(rest[..rest.IndexOf(' ', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    /// <summary>CLOCK_MONOTONIC in microseconds: Stopwatch reads that clock on Linux.</summary>
    private static long MonotonicMicroseconds() => (long)(Stopwatch.GetTimestamp() * (1_000_000.0 / Stopwatch.Frequency));
}
