using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

[Collection(IntegrationCollection.Name)]
public sealed class SteadyStateTests(ITestOutputHelper output)
{
    /// <summary>Events taken before measuring: every connection buffer, pool and lazy path is warm by then.</summary>
    private const long WarmUpEvents = 300_000;

    /// <summary>The whole daemon, every thread, may allocate less than this per event in steady state (target: 0).</summary>
    private const double AllocationBudgetBytesPerEvent = 1.0;

    /// <summary>The measured window: long enough for gen0 to fill many times over if the hot path allocated.</summary>
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    /// <summary>By type: a filter on well-known fields beside an aggregate, each on its own thread.</summary>
    private const string ByType = """
            [transforms.clicks]
            type = "filter"
            inputs = ["in"]
            condition = 'type == "click" && value > 10'

            [sinks.out]
            type = "blackhole"
            inputs = ["clicks"]

            # A processing-time aggregate beside it: its 1 s windows roll over ten times in the
            # measured window, so group reuse and window output are part of the steady state.
            [transforms.per_key]
            type = "aggregate"
            inputs = ["clicks"]
            window = "1s"
            group_by = ["type", "key"]
            metrics = ["count", "sum", "min", "max", "mean", "p99"]

            [sinks.results]
            type = "blackhole"
            inputs = ["per_key"]
            """;

    /// <summary>Per key, split: a filter on a named field fused before an aggregate on two threads
    /// (the decoder's rows, key hashes and both threads' group tables in the steady state).</summary>
    private const string PerKeySplit = """
            [transforms.wanted]
            type = "filter"
            inputs = ["in"]
            condition = 'value >= 10 && .region != "ap"'

            [transforms.per_key]
            type = "aggregate"
            inputs = ["wanted"]
            window = "1s"
            group_by = ["type", "key"]
            metrics = ["count", "sum", "max", "p99"]
            threads = 2

            [sinks.out]
            type = "blackhole"
            inputs = ["per_key"]
            """;

    [Theory]
    [InlineData(nameof(ByType))]
    [InlineData(nameof(PerKeySplit))]
    public void UnderContinuousLoad_TheDaemonCollectsNoGarbage_AndAllocatesUnderOneBytePerEvent(string pipeline)
    {
        string stages = pipeline == nameof(ByType) ? ByType : PerKeySplit;
        using DaemonProcess daemon = DaemonProcess.Start(output, l => $"""
            [sources.in]
            type = "tcp"
            address = "{l.Address("in")}"
            format = "json"

            {stages}
            """, new DaemonOptions { RingSize = 16384, ArenaSize = "16MiB" });

        bool stop = false;
        Exception? failure = null;
        using Socket socket = TestSockets.ConnectTcp(daemon.Layout.Port("in"));
        byte[] load = Load();
        var sender = new Thread(() =>
        {
            try
            {
                while (!Volatile.Read(ref stop))
                {
                    TestSockets.SendAll(socket, load);
                }
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        { IsBackground = true, Name = "steady-load" };
        sender.Start();

        try
        {
            Eventually.Value(() => daemon.Stats(), s => s.Value("events_received_total", ("source", "in")) >= WarmUpEvents,
                s => $"warm-up: {s.Value("events_received_total", ("source", "in"))} of {WarmUpEvents} events; sender failure: {failure}");

            StatsSnapshot before = daemon.Stats();
            var clock = Stopwatch.StartNew();
            Thread.Sleep(Window);
            StatsSnapshot after = daemon.Stats();
            double seconds = clock.Elapsed.TotalSeconds;
            Assert.True(failure is null, $"the load sender failed: {failure}");

            double events = after.Value("events_received_total", ("source", "in")) - before.Value("events_received_total", ("source", "in"));
            double processed = after.Value("events_processed_total", ("stage", "out")) - before.Value("events_processed_total", ("stage", "out"));
            double allocated = after.Value("managed_allocated_bytes_total") - before.Value("managed_allocated_bytes_total");
            double[] collections = [.. Enumerable.Range(0, 3).Select(g =>
                after.Value("gc_collections_total", ("generation", g.ToString())) - before.Value("gc_collections_total", ("generation", g.ToString())))];
            double perEvent = allocated / Math.Max(1, events);
            output.WriteLine($"steady state over {seconds:0.0} s: {events:0} events received ({events / seconds:0} /s), {processed:0} reached the sink");
            output.WriteLine($"managed bytes allocated: {allocated:0} ({perEvent:0.####} B/event); GC collections gen0 {collections[0]}, gen1 {collections[1]}, gen2 {collections[2]}");
            output.WriteLine($"RSS {after.Value("process_resident_memory_bytes") / 1048576:0.0} MiB; totals since start: allocated {after.Value("managed_allocated_bytes_total")}, gc {string.Join('/', Enumerable.Range(0, 3).Select(g => after.Value("gc_collections_total", ("generation", g.ToString()))))}");

            Assert.True(events > 0, "no events flowed during the window");
            Assert.True(collections.All(c => c == 0), $"garbage collections during steady state: gen0 {collections[0]}, gen1 {collections[1]}, gen2 {collections[2]}");
            Assert.True(perEvent < AllocationBudgetBytesPerEvent, $"{allocated:0} managed bytes for {events:0} events = {perEvent:0.####} B/event");
        }
        finally
        {
            Volatile.Write(ref stop, true);
            socket.Shutdown(SocketShutdown.Both);
            sender.Join();
        }
    }

    /// <summary>About 64 KB of lines, a third of which pass the filter.</summary>
    private static byte[] Load()
    {
        var text = new StringBuilder();
        for (int i = 0; text.Length < 64 * 1024 - 200; i++)
        {
            string type = i % 3 == 0 ? "click" : "view";
            string region = (i % 5) switch { 0 => "ap", 1 or 2 => "eu", _ => "us" };
            text.Append($$"""{"type":"{{type}}","key":"user-{{i % 97}}","value":{{i % 50}}.5,"region":"{{region}}","page":"/p/{{i}}"}""").Append('\n');
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
