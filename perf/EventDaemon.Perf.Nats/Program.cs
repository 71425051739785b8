using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EventDaemon.Perf.Nats;

/// <summary>
/// make bench-nats: messages/s through nats → filter → aggregate → nats, eventd against a plain
/// NATS.Client consumer loop doing the same work, on one local nats-server and then on a 3-node
/// loopback cluster with R3 streams, in the same run. <c>STEADY=1</c>: <see cref="Steady"/> instead.
/// </summary>
/// <remarks>
/// Both read the same pre-filled stream through durable consumers of their own, one after the
/// other (never together: on two cores they would measure each other). A run is over when every
/// message is acknowledged. eventd's numbers come from its own counters (<c>stats json</c>):
/// acks, GC collections, managed bytes allocated, ack latency; the baseline's from its process.
/// </remarks>
public static class Program
{
    private const string InStream = "BENCHIN";
    private const string OutStream = "BENCHOUT";

    public static async Task<int> Main(string[] args)
    {
        string eventd = args.Length > 0 ? args[0] : "artifacts/eventd";
        string json = args.Length > 1 ? args[1] : "artifacts/bench/nats.json";
        if (Environment.GetEnvironmentVariable("STEADY") == "1")
        {
            return await Steady.Run(eventd, Path.Combine(Path.GetDirectoryName(Path.GetFullPath(json))!, "nats-steady.json"));
        }

        int messages = int.Parse(Environment.GetEnvironmentVariable("NATS_BENCH_MESSAGES") ?? "200000", CultureInfo.InvariantCulture);
        var rows = new List<(string Topology, Result Daemon, Result Baseline)>();
        foreach ((string topology, int servers) in new[] { ("one server", 1), ("3-node cluster, R3", 3) })
        {
            string work = Directory.CreateTempSubdirectory("eventd-bench-nats-").FullName;
            using var server = NatsServerProcess.StartCluster(Path.Combine(work, "store"), servers);
            try
            {
                await using var nats = new NatsConnection(new NatsOpts { Url = server.Url, Name = "bench-nats" });
                var js = new NatsJSContext(nats);
                await CreateStream(js, InStream, "bench.in", servers);
                await CreateStream(js, OutStream, "bench.out", servers);
                Console.WriteLine($"bench-nats: {topology}: filling {InStream} with {messages:N0} messages on {server.Url}");
                await Fill(nats, js, messages);

                Result daemon = await RunEventd(eventd, server.Url, work, messages);
                Result baseline = await Baseline.Run(server.Url, InStream, "baseline", messages);
                rows.Add((topology, daemon, baseline));
            }
            finally
            {
                server.Dispose();
                Directory.Delete(work, recursive: true);
            }
        }

        Print(messages, rows);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(json))!);
        File.WriteAllText(json, JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["workload"] = $"{messages} JSON messages of ~60 B in a file stream; nats source -> filter (3 of 4 pass) -> aggregate (1 s, count by type) -> nats sink; "
                + "one local nats-server 2.9, then a 3-node loopback cluster with the streams replicated on all three (R3)",
            ["messages"] = messages,
            ["runs"] = rows.Select(r => new Dictionary<string, object>
            {
                ["topology"] = r.Topology,
                ["eventd"] = r.Daemon.ToDictionary(),
                ["baseline"] = r.Baseline.ToDictionary(),
                ["ratio_messages_per_second"] = Math.Round(r.Daemon.MessagesPerSecond / r.Baseline.MessagesPerSecond, 2),
            }).ToList(),
        }, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"bench-nats: wrote {json}");
        return 0;
    }

    /// <summary>A file stream replicated on every server; retried while a cluster elects its meta leader.</summary>
    internal static async Task CreateStream(NatsJSContext js, string name, string subject, int replicas)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                await js.CreateStreamAsync(new StreamConfig(name, [subject]) { NumReplicas = replicas });
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    private static async Task Fill(NatsConnection nats, NatsJSContext js, int messages)
    {
        // Pipelined publishes with a PubAck check at the end: filling is not what is measured.
        string[] types = ["click", "view", "buy", "noise"];
        const int Window = 2000;
        var pending = new List<ValueTask<PubAckResponse>>(Window);
        for (int i = 0; i < messages; i++)
        {
            byte[] body = Encoding.UTF8.GetBytes($$"""{"type":"{{types[i % 4]}}","user":"u{{i % 1000}}","value":{{i % 100}},"seq":{{i}}}""");
            pending.Add(js.PublishAsync("bench.in", body));
            if (pending.Count == Window)
            {
                foreach (ValueTask<PubAckResponse> ack in pending)
                {
                    (await ack).EnsureSuccess();
                }

                pending.Clear();
            }
        }

        foreach (ValueTask<PubAckResponse> ack in pending)
        {
            (await ack).EnsureSuccess();
        }

        await nats.PingAsync();
    }

    private static async Task<Result> RunEventd(string eventd, string url, string work, int messages)
    {
        string socket = Path.Combine(work, "ctl.sock");
        string config = Path.Combine(work, "eventd.toml");
        File.WriteAllText(config, $"""
            [daemon]
            control_socket = "{socket}"
            ring_size = 65536
            arena_size = "64MiB"

            [sources.bus]
            type = "nats"
            url = "{url}"
            stream = "{InStream}"
            consumer = "eventd"
            batch = 1024
            max_ack_pending = 20000

            [transforms.wanted]
            type = "filter"
            inputs = ["bus"]
            condition = 'type != "noise"'

            [transforms.counts]
            type = "aggregate"
            inputs = ["wanted"]
            window = "1s"
            group_by = ["type"]
            metrics = ["count"]

            [sinks.out]
            type = "nats"
            inputs = ["counts"]
            url = "{url}"
            subject = "bench.out"
            """);
        var info = new ProcessStartInfo(eventd) { RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add("run");
        info.ArgumentList.Add("--config");
        info.ArgumentList.Add(config);
        using var process = Process.Start(info)!;
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) => { lock (stderr) { stderr.AppendLine(e.Data); } };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            JsonElement? first = null;
            var clock = Stopwatch.StartNew();
            DateTime deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
            while (DateTime.UtcNow < deadline && !process.HasExited)
            {
                JsonElement? stats = await Stats(socket);
                if (stats is { } s)
                {
                    if (first is null && Value(s, "nats_acks_total") > 0)
                    {
                        // From the first ack: the daemon's start-up is not what is measured.
                        first = s;
                        clock.Restart();
                    }

                    if (Value(s, "nats_acks_total") >= messages && first is { } f)
                    {
                        double seconds = clock.Elapsed.TotalSeconds;
                        double acks = Value(s, "nats_acks_total") - Value(f, "nats_acks_total");
                        // Generation 0's count includes every collection (a gen-1 or gen-2 one collects gen 0 too).
                        double gc = Gen0(s) - Gen0(f);
                        double allocated = Value(s, "managed_allocated_bytes_total") - Value(f, "managed_allocated_bytes_total");
                        double latency = Value(s, "nats_ack_latency_seconds_total") / Value(s, "nats_acks_total");
                        return new Result("eventd", acks / seconds, gc, allocated / acks, latency * 1000, seconds);
                    }
                }

                await Task.Delay(20);
            }

            throw new InvalidOperationException($"eventd did not acknowledge {messages} messages within 3 minutes:\n{stderr}");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            await process.WaitForExitAsync();
        }
    }

    /// <summary><c>stats json</c> over the control socket; <c>null</c> until the daemon listens.</summary>
    internal static async Task<JsonElement?> Stats(string path)
    {
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
            await socket.SendAsync("stats json\n"u8.ToArray());
            using var stream = new NetworkStream(socket);
            using var reader = new StreamReader(stream);
            string text = await reader.ReadToEndAsync();
            return JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (Exception e) when (e is SocketException or IOException or JsonException)
        {
            return null;
        }
    }

    internal static double Gen0(JsonElement stats)
    {
        foreach (JsonElement sample in stats.GetProperty("gc_collections_total").EnumerateArray())
        {
            if (sample.GetProperty("generation").GetString() == "0")
            {
                return sample.GetProperty("value").GetDouble();
            }
        }

        return 0;
    }

    /// <summary>A series' value, summed over its labels.</summary>
    internal static double Value(JsonElement stats, string name)
    {
        if (!stats.TryGetProperty(name, out JsonElement series))
        {
            return 0;
        }

        if (series.ValueKind == JsonValueKind.Number)
        {
            return series.GetDouble();
        }

        double sum = 0;
        foreach (JsonElement sample in series.EnumerateArray())
        {
            sum += sample.GetProperty("value").GetDouble();
        }

        return sum;
    }

    private static void Print(int messages, List<(string Topology, Result Daemon, Result Baseline)> rows)
    {
        Console.WriteLine();
        Console.WriteLine($"nats -> filter -> aggregate -> nats, {messages:N0} messages");
        Console.WriteLine("| topology | system | messages/s | seconds | GC collections | B/message | mean ack latency (ms) | ratio |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach ((string topology, Result daemon, Result baseline) in rows)
        {
            foreach (Result r in new[] { daemon, baseline })
            {
                string ratio = ReferenceEquals(r, daemon) ? string.Create(CultureInfo.InvariantCulture, $"{daemon.MessagesPerSecond / baseline.MessagesPerSecond:0.00}x") : "1";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {topology} | {r.System} | {r.MessagesPerSecond:N0} | {r.Seconds:0.00} | {r.GcCollections:0} | {r.BytesPerMessage:0.0} | {r.AckLatencyMs:0.00} | {ratio} |"));
            }
        }
    }
}

public sealed record Result(string System, double MessagesPerSecond, double GcCollections, double BytesPerMessage, double AckLatencyMs, double Seconds)
{
    public Dictionary<string, object> ToDictionary() => new()
    {
        ["messages_per_second"] = Math.Round(MessagesPerSecond),
        ["seconds"] = Math.Round(Seconds, 3),
        ["gc_collections"] = GcCollections,
        ["bytes_per_message"] = Math.Round(BytesPerMessage, 1),
        ["mean_ack_latency_ms"] = Math.Round(AckLatencyMs, 3),
    };
}
