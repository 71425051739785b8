using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary>enrich end to end: columns added by the sink, counters, and a table swapped by reload under load.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class EnrichTests(ITestOutputHelper output)
{
    [Fact]
    public void Enrich_AddsTheMatchedRowsColumns_CountsHitsAndMisses_AndReloadSwapsTheTableWithoutLosingEvents()
    {
        string table = Path.Combine(Path.GetTempPath(), $"eventd-enrich-{Guid.NewGuid():N}.csv");
        File.WriteAllText(table, "user,plan,country\nu1,gold,fr\nu2,free,de\n");
        try
        {
            using DaemonProcess daemon = DaemonProcess.Start(output, l => $"""
                [sources.in]
                type = "tcp"
                address = "{l.Address("in")}"
                format = "json"

                [transforms.users]
                type = "enrich"
                inputs = ["in"]
                field = ".user"
                table = "{table}"

                [sinks.out]
                type = "file"
                inputs = ["users"]
                path = "{l.File("out.jsonl")}"
                """);
            string outPath = daemon.Layout.File("out.jsonl");

            TestSockets.SendTcp(daemon.Layout.Port("in"), "{\"type\":\"a\",\"user\":\"u1\"}\n{\"type\":\"b\",\"user\":\"nobody\"}\n{\"type\":\"c\"}\n");
            Eventually.True(() => File.Exists(outPath) && SinkFile.Lines(outPath).Count == 3, () => $"expected 3 lines, file: {Read(outPath)}");
            List<JsonElement> first = Parse(outPath);
            Assert.True(first[0].GetProperty("plan").GetString() == "gold" && first[0].GetProperty("country").GetString() == "fr",
                $"a hit did not get the row's columns: {first[0]}");
            Assert.False(first[1].TryGetProperty("plan", out _), $"a miss got columns: {first[1]}");
            StatsSnapshot stats = daemon.Stats();
            Assert.True(stats.Value("enrich_hits_total", ("stage", "users")) == 1 && stats.Value("enrich_misses_total", ("stage", "users")) == 2,
                $"hit/miss counters wrong: {stats.Describe("enrich_hits_total")} {stats.Describe("enrich_misses_total")}");

            // Reload with a changed table while a sender streams: nothing lost, new rows apply afterwards.
            bool stop = false;
            int sent = 0;
            using Socket socket = TestSockets.ConnectTcp(daemon.Layout.Port("in"));
            var sender = new Thread(() =>
            {
                while (!Volatile.Read(ref stop))
                {
                    TestSockets.SendAll(socket, $"{{\"type\":\"load\",\"user\":\"u2\",\"n\":{sent}}}\n");
                    Interlocked.Increment(ref sent);
                }
            })
            { IsBackground = true };
            sender.Start();
            Eventually.True(() => Volatile.Read(ref sent) > 1000, () => "the sender did not get going");
            File.WriteAllText(table, "user,plan,country\nu1,gold,fr\nu2,pro,de\n");
            string reply = daemon.Control("reload");
            Assert.True(reply.StartsWith("reloaded", StringComparison.Ordinal), $"reload failed: {reply}");
            int sentAtReload = Volatile.Read(ref sent);
            Eventually.True(() => Volatile.Read(ref sent) > sentAtReload + 1000, () => "the sender stalled after the reload");
            Volatile.Write(ref stop, true);
            sender.Join();
            socket.Shutdown(SocketShutdown.Send);

            int expected = 3 + Volatile.Read(ref sent);
            Eventually.True(() => SinkFile.Lines(outPath).Count == expected,
                () => $"expected {expected} lines after the reload, have {SinkFile.Lines(outPath).Count}");
            List<JsonElement> all = Parse(outPath);
            string lastPlan = all[^1].GetProperty("plan").GetString()!;
            Assert.True(lastPlan == "pro", $"events after the reload still carry the old table's plan '{lastPlan}'");
            var numbers = all.Skip(3).Select(e => e.GetProperty("n").GetInt32()).ToList();
            Assert.True(numbers.SequenceEqual(Enumerable.Range(0, numbers.Count)), "events streamed across the reload were lost, duplicated or reordered");
        }
        finally
        {
            File.Delete(table);
        }
    }

    private static string Read(string path) => File.Exists(path) ? File.ReadAllText(path) : "(no file)";

    private static List<JsonElement> Parse(string path) =>
        SinkFile.Lines(path).Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();
}
