using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary>
/// Stream sources on event loops: thousands of connections cost neither a thread each nor memory
/// kept after they close; at the open-file limit new connections are refused and counted while
/// <c>stats</c> keeps answering; a connection silent for <c>idle_timeout</c> is closed and counted.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class StreamConnectionTests(ITestOutputHelper output)
{
    private const int ManyConnections = 5000;

    /// <summary>A thread per connection would add 5,000; the event loops add none per connection.</summary>
    private const int ThreadGrowthBound = 8;

    /// <summary>What 5,000 idle connections may add to RSS: their state is a few hundred bytes each
    /// (a thread and a decoder per connection cost ~200 KiB each: 1 GiB).</summary>
    private const long RssGrowthBound = 64L * 1024 * 1024;

    private static string Config(DaemonLayout l, string sourceSettings = "") => $"""
        [sources.in]
        type = "tcp"
        address = "{l.Address("in")}"
        format = "json"
        max_connections = 10000
        {sourceSettings}

        [sinks.out]
        type = "blackhole"
        inputs = ["in"]
        """;

    [Fact]
    public void FiveThousandIdleConnections_KeepTheThreadCountBounded_AndMemoryFallsBackAfterTheyClose()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, l => Config(l));
        int threadsBefore = Status(daemon.Pid, "Threads:");
        long rssBefore = Status(daemon.Pid, "VmRSS:") * 1024L;
        var sockets = new List<Socket>(ManyConnections);
        try
        {
            for (int i = 0; i < ManyConnections; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Connect(new IPEndPoint(IPAddress.Loopback, daemon.Layout.Port("in")));
                sockets.Add(socket);
            }

            Eventually.True(() => daemon.Stats().Value("connections_open", ("source", "in")) == ManyConnections,
                () => $"not all {ManyConnections} connections were accepted: {daemon.Stats().Describe("connections_open")}");
            int threads = Status(daemon.Pid, "Threads:");
            long rss = Status(daemon.Pid, "VmRSS:") * 1024L;
            output.WriteLine($"{ManyConnections} idle connections: threads {threadsBefore} -> {threads}, RSS {rssBefore >> 20} -> {rss >> 20} MiB");
            Assert.True(threads <= threadsBefore + ThreadGrowthBound,
                $"{ManyConnections} connections took the daemon from {threadsBefore} to {threads} threads");
            Assert.True(rss - rssBefore <= RssGrowthBound,
                $"{ManyConnections} idle connections grew RSS by {(rss - rssBefore) >> 20} MiB (from {rssBefore >> 20} to {rss >> 20} MiB)");

            // One of them still carries events: the loops serve all of them.
            TestSockets.SendAll(sockets[ManyConnections / 2], "{\"type\":\"t\",\"value\":1}\n");
            Eventually.True(() => daemon.Stats().Value("events_received_total", ("source", "in")) == 1,
                () => $"an event sent on one of {ManyConnections} connections was not received: {daemon.Stats().Json}");
        }
        finally
        {
            foreach (Socket socket in sockets)
            {
                socket.Dispose();
            }
        }

        Eventually.True(() => daemon.Stats().Value("connections_open", ("source", "in")) == 0,
            () => $"connections still open after every client closed: {daemon.Stats().Describe("connections_open")}");
        long peak = Status(daemon.Pid, "VmHWM:") * 1024L;
        long allowed = rssBefore + Math.Max(16L * 1024 * 1024, (peak - rssBefore) / 2);
        long after = Eventually.Value(() => Status(daemon.Pid, "VmRSS:") * 1024L, r => r <= allowed,
            r => $"RSS did not fall back after all connections closed: {r >> 20} MiB, started at {rssBefore >> 20} MiB, peaked at {peak >> 20} MiB");
        Assert.True(Status(daemon.Pid, "Threads:") <= threadsBefore + ThreadGrowthBound, "threads were left behind by closed connections");
        output.WriteLine($"after close: RSS {after >> 20} MiB (peak {peak >> 20} MiB)");
    }

    [Fact]
    public void AtTheOpenFileLimit_NewConnectionsAreRefusedAndCounted_AndStatsStillAnswers()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, l => Config(l));
        SetOpenFileLimit(daemon.Pid, 256);
        var sockets = new List<Socket>();
        try
        {
            for (int i = 0; i < 400; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Connect(new IPEndPoint(IPAddress.Loopback, daemon.Layout.Port("in")));
                sockets.Add(socket);
            }

            StatsSnapshot stats = Eventually.Value(daemon.Stats, s => s.Value("events_dropped_total", ("source", "in"), ("reason", "fd_limit")) > 0,
                s => $"400 connections against a limit of 256 descriptors counted no fd_limit refusal: {s.Describe("events_dropped_total")}");
            double open = stats.Value("connections_open", ("source", "in"));
            Assert.True(open is > 0 and < 256, $"{open} connections open under a limit of 256 descriptors");

            // At the limit, stats (a control connection and the process read) keep working, repeatedly.
            for (int i = 0; i < 5; i++)
            {
                stats = daemon.Stats();
                Assert.True(stats.Value("process_resident_memory_bytes") > 0, $"stats at the descriptor limit lost the process memory: {stats.Json}");
            }

            // A refused client is closed, not left hanging in the backlog.
            Assert.True(TestSockets.WaitClosedByPeer(sockets[^1], TimeSpan.FromSeconds(10)), "the last client over the limit was never closed by the daemon");
        }
        finally
        {
            foreach (Socket socket in sockets)
            {
                socket.Dispose();
            }
        }

        // The episode ends when descriptors come back: a new connection is accepted and served.
        Eventually.True(() => daemon.Stats().Value("connections_open", ("source", "in")) == 0, () => daemon.Stats().Describe("connections_open"));
        TestSockets.SendTcp(daemon.Layout.Port("in"), "{\"type\":\"t\",\"value\":1}\n");
        Eventually.True(() => daemon.Stats().Value("events_received_total", ("source", "in")) == 1,
            () => $"no event accepted after the descriptors came back: {daemon.Stats().Json}");
        // The daemon's stderr reaches the test through a pipe read on another thread: wait for the line.
        Eventually.True(() => daemon.Stderr.Split('\n').Any(l => l.Contains("open-file limit", StringComparison.Ordinal)),
            () => $"the refusal was not logged: {daemon.Stderr}");
    }

    [Fact]
    public void AConnectionSilentForIdleTimeout_IsClosedAndCounted_WhileABusyOneStaysOpen()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, l => Config(l, "idle_timeout = \"1s\""));
        using Socket silent = TestSockets.ConnectTcp(daemon.Layout.Port("in"));
        using Socket busy = TestSockets.ConnectTcp(daemon.Layout.Port("in"));
        TestSockets.SendAll(silent, "{\"type\":\"t\",\"value\":1}\n");

        var watch = Stopwatch.StartNew();
        bool closed = false;
        while (!closed && watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            TestSockets.SendAll(busy, "{\"type\":\"t\",\"value\":2}\n");
            closed = TestSockets.WaitClosedByPeer(silent, TimeSpan.FromMilliseconds(200));
        }

        Assert.True(closed, "a connection silent past idle_timeout = 1s was still open after 10 s");
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(500), $"the silent connection was closed after {watch.ElapsedMilliseconds} ms, before its idle_timeout");
        // The client sees the close before the daemon's counters say so: wait for them.
        Eventually.True(() => daemon.Stats().Value("connections_closed_total", ("source", "in"), ("reason", "idle_timeout")) == 1
                && daemon.Stats().Value("connections_open", ("source", "in")) == 1,
            () => $"one idle_timeout close and the busy connection still open: {daemon.Stats().Describe("connections_closed_total")} {daemon.Stats().Describe("connections_open")}");
        Assert.False(TestSockets.WaitClosedByPeer(busy, TimeSpan.Zero), "the busy connection was closed although it kept sending");
    }

    /// <summary>A "Name:  value" line of /proc/PID/status (kB for memory lines).</summary>
    private static int Status(int pid, string name)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(name, StringComparison.Ordinal))
            {
                return int.Parse(line.AsSpan(name.Length).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new Xunit.Sdk.XunitException($"/proc/{pid}/status has no {name} line");
    }

    private static void SetOpenFileLimit(int pid, int limit)
    {
        using var prlimit = Process.Start(new ProcessStartInfo("prlimit", $"--pid {pid} --nofile={limit}:{limit}") { RedirectStandardError = true })!;
        Assert.True(prlimit.WaitForExit(10_000) && prlimit.ExitCode == 0, $"prlimit failed: {prlimit.StandardError.ReadToEnd()}");
    }
}
