using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace EventDaemon.Perf.Nats;

/// <summary>
/// <c>STEADY=1 make bench-nats</c>: a steady state through nats → filter → nats for
/// <c>NATS_STEADY_SECONDS</c> (60) at <c>NATS_STEADY_RATE</c> messages/s (20,000), with eventd's
/// GC collections, managed bytes allocated and acks read from its own counters at the start and
/// the end of the window (after a 10 s warm-up). SPEC §8: the window shows 0 GC collections.
/// </summary>
/// <remarks>
/// The producer (this process, NATS.Client core publishes into the stream's subject, paced every
/// 10 ms) runs beside eventd; the window's stats are read twice only, so that the harness's own
/// requests (a <c>stats json</c> answer allocates in eventd) do not count in it.
/// </remarks>
public static class Steady
{
    private const string InStream = "STEADYIN";
    private const string OutStream = "STEADYOUT";

    public static async Task<int> Run(string eventd, string json)
    {
        int seconds = int.Parse(Environment.GetEnvironmentVariable("NATS_STEADY_SECONDS") ?? "60", CultureInfo.InvariantCulture);
        int rate = int.Parse(Environment.GetEnvironmentVariable("NATS_STEADY_RATE") ?? "20000", CultureInfo.InvariantCulture);
        string work = Directory.CreateTempSubdirectory("eventd-bench-nats-steady-").FullName;
        using var server = NatsServerProcess.Start(Path.Combine(work, "store"));
        try
        {
            await using var nats = new NatsConnection(new NatsOpts { Url = server.Url, Name = "bench-nats-steady" });
            var js = new NatsJSContext(nats);
            await Program.CreateStream(js, InStream, "steady.in", 1);
            await Program.CreateStream(js, OutStream, "steady.out", 1);

            string socket = Path.Combine(work, "ctl.sock");
            string config = Path.Combine(work, "eventd.toml");
            File.WriteAllText(config, $"""
                [daemon]
                control_socket = "{socket}"
                ring_size = 65536
                arena_size = "64MiB"

                [sources.bus]
                type = "nats"
                url = "{server.Url}"
                stream = "{InStream}"
                consumer = "eventd"
                batch = 1024
                max_ack_pending = 20000

                [transforms.wanted]
                type = "filter"
                inputs = ["bus"]
                condition = 'type != "noise"'

                [sinks.out]
                type = "nats"
                inputs = ["wanted"]
                url = "{server.Url}"
                subject = "steady.out"
                """);
            var info = new ProcessStartInfo(eventd) { RedirectStandardError = true, RedirectStandardOutput = true };
            info.ArgumentList.Add("run");
            info.ArgumentList.Add("--config");
            info.ArgumentList.Add(config);
            using var process = Process.Start(info)!;
            process.ErrorDataReceived += (_, _) => { };
            process.OutputDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();

            using var stop = new CancellationTokenSource();
            Task producing = Produce(nats, rate, stop.Token);
            try
            {
                Console.WriteLine($"bench-nats steady: {rate:N0} messages/s into {InStream}, nats -> filter -> nats; 10 s warm-up, then {seconds} s measured");
                await Task.Delay(TimeSpan.FromSeconds(10));
                JsonElement first = await Program.Stats(socket) ?? throw new InvalidOperationException("eventd does not answer stats");
                var clock = Stopwatch.StartNew();
                await Task.Delay(TimeSpan.FromSeconds(seconds));
                JsonElement last = await Program.Stats(socket) ?? throw new InvalidOperationException("eventd does not answer stats");
                double elapsed = clock.Elapsed.TotalSeconds;
                double acks = Program.Value(last, "nats_acks_total") - Program.Value(first, "nats_acks_total");
                double gc = Program.Gen0(last) - Program.Gen0(first);
                double allocated = Program.Value(last, "managed_allocated_bytes_total") - Program.Value(first, "managed_allocated_bytes_total");
                double latency = (Program.Value(last, "nats_ack_latency_seconds_total") - Program.Value(first, "nats_ack_latency_seconds_total")) / acks;
                double written = Program.Value(last, "sink_events_written_total") - Program.Value(first, "sink_events_written_total");
                double rss = Program.Value(last, "process_resident_memory_bytes");

                Console.WriteLine();
                Console.WriteLine($"nats -> filter -> nats steady state, {seconds} s at {rate:N0} messages/s offered, one local nats-server");
                Console.WriteLine("| messages/s acked | events/s published | GC collections | managed B/message | mean ack latency (ms) | RSS (MiB) |");
                Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {acks / elapsed:N0} | {written / elapsed:N0} | {gc:0} | {allocated / acks:0.00} | {latency * 1000:0.00} | {rss / (1 << 20):0} |"));
                File.WriteAllText(json, JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["workload"] = $"{rate} JSON messages/s of ~60 B offered for {seconds} s after a 10 s warm-up; nats source -> filter (3 of 4 pass) -> nats sink; one local nats-server 2.9",
                    ["seconds"] = Math.Round(elapsed, 2),
                    ["messages_per_second"] = Math.Round(acks / elapsed),
                    ["events_published_per_second"] = Math.Round(written / elapsed),
                    ["gc_collections"] = gc,
                    ["managed_allocated_bytes"] = allocated,
                    ["bytes_per_message"] = Math.Round(allocated / acks, 3),
                    ["mean_ack_latency_ms"] = Math.Round(latency * 1000, 3),
                    ["rss_bytes"] = rss,
                }, new JsonSerializerOptions { WriteIndented = true }));
                Console.WriteLine($"bench-nats steady: wrote {json}");
                return 0;
            }
            finally
            {
                await stop.CancelAsync();
                await producing;
                if (!process.HasExited)
                {
                    process.Kill();
                }

                await process.WaitForExitAsync();
            }
        }
        finally
        {
            server.Dispose();
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Core publishes into the stream's subject at <paramref name="rate"/>/s, a tick's worth every 10 ms, until cancelled.</summary>
    private static async Task Produce(NatsConnection nats, int rate, CancellationToken stop)
    {
        string[] types = ["click", "view", "buy", "noise"];
        byte[][] bodies = [.. Enumerable.Range(0, 4000).Select(i =>
            Encoding.UTF8.GetBytes($$"""{"type":"{{types[i % 4]}}","user":"u{{i % 1000}}","value":{{i % 100}},"seq":{{i}}}"""))];
        var clock = Stopwatch.StartNew();
        long sent = 0;
        while (!stop.IsCancellationRequested)
        {
            long due = (long)(clock.Elapsed.TotalSeconds * rate);
            for (; sent < due; sent++)
            {
                await nats.PublishAsync("steady.in", bodies[sent % bodies.Length], cancellationToken: CancellationToken.None);
            }

            try
            {
                await Task.Delay(10, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }
}
