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
/// NATS.Client consumer loop doing the same work, on one local nats-server, in the same run.
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
        int messages = int.Parse(Environment.GetEnvironmentVariable("NATS_BENCH_MESSAGES") ?? "500000", CultureInfo.InvariantCulture);
        string work = Directory.CreateTempSubdirectory("eventd-bench-nats-").FullName;
        using var server = NatsServerProcess.Start(Path.Combine(work, "store"));
        try
        {
            await using var nats = new NatsConnection(new NatsOpts { Url = server.Url, Name = "bench-nats" });
            var js = new NatsJSContext(nats);
            await js.CreateStreamAsync(new StreamConfig(InStream, ["bench.in"]));
            await js.CreateStreamAsync(new StreamConfig(OutStream, ["bench.out"]));
            Console.WriteLine($"bench-nats: filling {InStream} with {messages:N0} messages on {server.Url}");
            await Fill(nats, js, messages);

            Result daemon = await RunEventd(eventd, server.Url, work, messages);
            Result baseline = await Baseline.Run(server.Url, InStream, "baseline", messages);
            Print(messages, daemon, baseline);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(json))!);
            File.WriteAllText(json, JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["workload"] = $"{messages} JSON messages of ~90 B in a file stream; nats source -> filter (3 of 4 pass) -> aggregate (1 s, count by type) -> nats sink; one local nats-server 2.9",
                ["messages"] = messages,
                ["eventd"] = daemon.ToDictionary(),
                ["baseline"] = baseline.ToDictionary(),
                ["ratio_messages_per_second"] = Math.Round(daemon.MessagesPerSecond / baseline.MessagesPerSecond, 2),
            }, new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"bench-nats: wrote {json}");
            return 0;
        }
        finally
        {
            server.Dispose();
            Directory.Delete(work, recursive: true);
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
    private static async Task<JsonElement?> Stats(string path)
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

    private static double Gen0(JsonElement stats)
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
    private static double Value(JsonElement stats, string name)
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

    private static void Print(int messages, Result daemon, Result baseline)
    {
        Console.WriteLine();
        Console.WriteLine($"nats -> filter -> aggregate -> nats, {messages:N0} messages, one local nats-server");
        Console.WriteLine("| system | messages/s | seconds | GC collections | B/message | mean ack latency (ms) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (Result r in new[] { daemon, baseline })
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.System} | {r.MessagesPerSecond:N0} | {r.Seconds:0.00} | {r.GcCollections:0} | {r.BytesPerMessage:0.0} | {r.AckLatencyMs:0.00} |"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio eventd / baseline: {daemon.MessagesPerSecond / baseline.MessagesPerSecond:0.00}x messages/s"));
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
