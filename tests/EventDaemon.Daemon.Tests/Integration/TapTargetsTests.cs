using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary>
/// <c>eventd tap</c> on every kind of target against the published binary: a source shows all it
/// published and nothing of another source, a split stage shows what passed on every thread once
/// each, a sink shows the lines it takes as it renders them, an aggregate shows its window results;
/// each compared event for event with what was sent, so only a working tap passes.
/// </summary>
/// <remarks>
/// Each test attaches first (a priming event that passes the target is sent until it shows), then
/// sends a fixed batch on both sources, then end markers that also pass the target: 200 of them,
/// so every thread of a split stage (runs of 64 sequences each) has shown some, and in each lane's
/// order everything of the batch before them. Then the lines seen are exactly what was shown.
/// </remarks>
[Collection(IntegrationCollection.Name)]
public sealed class TapTargetsTests(ITestOutputHelper output)
{
    private const int Ends = 200;

    private static string Topology(DaemonLayout l) => $"""
        [sources.web]
        type = "tcp"
        address = "{l.Address("web")}"
        format = "json"

        [sources.app]
        type = "tcp"
        address = "{l.Address("app")}"
        format = "json"

        [transforms.clicks]
        type = "filter"
        inputs = ["web", "app"]
        condition = 'type == "click"'
        threads = 2

        [transforms.levels]
        type = "route"
        inputs = ["app"]

        [transforms.levels.routes]
        errors = '.level == "error"'

        [transforms.per_key]
        type = "aggregate"
        inputs = ["clicks"]
        window = "1s"
        group_by = ["key"]
        metrics = ["count"]

        [sinks.agg]
        type = "blackhole"
        inputs = ["per_key"]

        [sinks.errs]
        type = "blackhole"
        inputs = ["levels.errors"]
        """;

    /// <summary>100 events per source, clicks on even n, errors on n divisible by 3, keys c0..c9.</summary>
    private static readonly string[] WebBatch = [.. Enumerable.Range(0, 100).Select(n => Line(n, "web"))];

    private static readonly string[] AppBatch = [.. Enumerable.Range(100, 100).Select(n => Line(n, "app"))];

    [Fact]
    public void TapASource_ShowsEveryEventItPublished_AndNoneOfAnotherSource()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Topology);
        string[] seen = TapAround(daemon, "app");
        AssertExactly(AppBatch, seen, "the source 'app' (all it published, clicks and views, and nothing of 'web')");
    }

    [Fact]
    public void TapASplitStage_ShowsWhatPassedOnEveryThread_OnceEach()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Topology);
        string[] seen = TapAround(daemon, "clicks");
        AssertExactly([.. WebBatch.Concat(AppBatch).Where(l => l.Contains("\"click\"", StringComparison.Ordinal))], seen,
            "the filter 'clicks' on 2 threads (the clicks of both sources, each once)");
        StatsSnapshot stats = daemon.Stats();
        Assert.True(stats.Value("tap_events_total", ("stage", "clicks")) >= 100 + Ends, stats.Describe("tap_events_total"));
    }

    [Fact]
    public void TapASinkBehindARouteOutput_ShowsTheLinesItTakes()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Topology);
        string[] seen = TapAround(daemon, "errs");
        AssertExactly([.. AppBatch.Where(l => l.Contains("\"error\"", StringComparison.Ordinal))], seen,
            "the sink 'errs' behind levels.errors (app's errors, byte for byte as the sink writes them)");
    }

    [Fact]
    public void TapAnAggregate_ShowsItsWindowResults_CountingEachClickOnce()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Topology);
        using Socket web = TestSockets.ConnectTcp(daemon.Layout.Port("web"));
        using Socket app = TestSockets.ConnectTcp(daemon.Layout.Port("app"));
        using var tap = TapLines.Attach(daemon, "per_key");

        // Windows are 1 s of processing time: the priming key's result shows once its window closes.
        Prime(tap, app, """{"type":"click","key":"prime","level":"error","n":-1,"from":"app"}""");
        TestSockets.SendAll(web, string.Concat(WebBatch.Select(l => l + "\n")));
        TestSockets.SendAll(app, string.Concat(AppBatch.Select(l => l + "\n")));
        TestSockets.SendAll(app, """{"type":"click","key":"end","level":"error","n":-2,"from":"app"}""" + "\n");
        tap.ReadUntil(lines => lines.Any(l => KeyOf(l) == "end"), "the result of the key 'end'");

        // Results of one ring, one lane: every result of the batch's windows came before 'end''s.
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string line in tap.Lines)
        {
            using JsonDocument result = JsonDocument.Parse(line);
            bool isResult = result.RootElement.TryGetProperty("window_start", out _) & result.RootElement.TryGetProperty("count", out JsonElement count);
            Assert.True(isResult, $"a line that is not a window result: {line}");
            string key = KeyOf(line);
            counts[key] = counts.GetValueOrDefault(key) + count.GetInt64();
        }

        var expected = WebBatch.Concat(AppBatch).Where(l => l.Contains("\"click\"", StringComparison.Ordinal))
            .GroupBy(KeyOf).ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);
        string describe = $"results summed by key: {string.Join(", ", counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}"))}";
        Assert.True(expected.All(e => counts.GetValueOrDefault(e.Key) == e.Value), $"each batch key should count its clicks once ({string.Join(", ", expected.Select(e => $"{e.Key}={e.Value}"))}); {describe}");
        Assert.True(counts.Keys.All(k => expected.ContainsKey(k) || k is "prime" or "end"), $"a result for a key never clicked: {describe}");
    }

    /// <summary>Attaches to <paramref name="target"/>, sends the batch and the end markers, and returns the batch lines seen.</summary>
    private string[] TapAround(DaemonProcess daemon, string target)
    {
        using Socket web = TestSockets.ConnectTcp(daemon.Layout.Port("web"));
        using Socket app = TestSockets.ConnectTcp(daemon.Layout.Port("app"));
        using var tap = TapLines.Attach(daemon, target);

        // A click of app's with level error passes every target these tests tap.
        Prime(tap, app, """{"type":"click","key":"prime","level":"error","n":-1,"from":"app"}""");
        TestSockets.SendAll(web, string.Concat(WebBatch.Select(l => l + "\n")));
        TestSockets.SendAll(app, string.Concat(AppBatch.Select(l => l + "\n")));
        TestSockets.SendAll(app, string.Concat(Enumerable.Range(0, Ends).Select(i =>
            $$"""{"type":"click","key":"end","level":"error","n":{{1000 + i}},"from":"app"}""" + "\n")));
        tap.ReadUntil(lines => lines.Count(l => KeyOf(l) == "end") >= Ends, $"all {Ends} end markers");
        output.WriteLine($"tap {target}: {tap.Lines.Count} lines, the first: {tap.Lines.FirstOrDefault()}");
        return [.. tap.Lines.Where(l => KeyOf(l) is not ("prime" or "end"))];
    }

    /// <summary>Sends <paramref name="line"/> until the tap shows it: from then on the tap is attached.</summary>
    private static void Prime(TapLines tap, Socket source, string line)
    {
        DateTime deadline = DateTime.UtcNow + Eventually.DefaultTimeout;
        while (!tap.Lines.Any(l => KeyOf(l) == "prime"))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the tap never showed the priming event; it showed: {string.Join('\n', tap.Lines.Take(5))}");
            TestSockets.SendAll(source, line + "\n");
            tap.ReadFor(TimeSpan.FromMilliseconds(200));
        }
    }

    private static void AssertExactly(string[] expected, string[] seen, string what)
    {
        string[] missing = [.. expected.Except(seen, StringComparer.Ordinal)];
        string[] extra = [.. seen.Except(expected, StringComparer.Ordinal)];
        string[] twice = [.. seen.GroupBy(l => l, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key)];
        Assert.True(missing.Length == 0 && extra.Length == 0 && twice.Length == 0 && seen.Length == expected.Length,
            $"tap of {what}: {seen.Length} lines for {expected.Length} expected; missing {missing.Length} (e.g. {missing.FirstOrDefault()}), " +
            $"not expected {extra.Length} (e.g. {extra.FirstOrDefault()}), shown twice {twice.Length} (e.g. {twice.FirstOrDefault()})");
    }

    private static string Line(int n, string from) =>
        $$"""{"type":"{{(n % 2 == 0 ? "click" : "view")}}","key":"c{{n % 10}}","level":"{{(n % 3 == 0 ? "error" : "info")}}","n":{{n}},"from":"{{from}}"}""";

    private static string KeyOf(string line)
    {
        using JsonDocument doc = JsonDocument.Parse(line);
        return doc.RootElement.TryGetProperty("key", out JsonElement key) ? key.GetString() ?? "" : "";
    }

    /// <summary>A tapping client over the control socket, reading JSON lines with deadlines.</summary>
    private sealed class TapLines : IDisposable
    {
        private readonly Socket _socket;
        private readonly StringBuilder _partial = new();
        private readonly byte[] _buffer = new byte[64 * 1024];

        private TapLines(Socket socket) => _socket = socket;

        public List<string> Lines { get; } = [];

        public static TapLines Attach(DaemonProcess daemon, string target)
        {
            Socket socket = TestSockets.ConnectUnix(daemon.ControlSocket);
            TestSockets.SendAll(socket, $"tap {target}\n");
            return new TapLines(socket);
        }

        /// <summary>Reads what comes within <paramref name="time"/> (the priming loop's pace).</summary>
        public void ReadFor(TimeSpan time)
        {
            DateTime until = DateTime.UtcNow + time;
            while (DateTime.UtcNow < until)
            {
                ReadOnce((int)Math.Max(1, (until - DateTime.UtcNow).TotalMilliseconds));
            }
        }

        /// <summary>Reads until <paramref name="done"/> holds; fails at the deadline.</summary>
        public void ReadUntil(Func<List<string>, bool> done, string what)
        {
            DateTime deadline = DateTime.UtcNow + Eventually.DefaultTimeout;
            while (!done(Lines))
            {
                Assert.True(DateTime.UtcNow < deadline, $"the tap never showed {what}; {Lines.Count} lines, the last: {Lines.LastOrDefault()}");
                ReadOnce(100);
            }
        }

        public void Dispose() => _socket.Dispose();

        private void ReadOnce(int waitMs)
        {
            if (!_socket.Poll(waitMs * 1000, SelectMode.SelectRead))
            {
                return;
            }

            int n = _socket.Receive(_buffer);
            Assert.True(n > 0, $"the daemon closed the tap after {Lines.Count} lines: {_partial}");
            _partial.Append(Encoding.UTF8.GetString(_buffer, 0, n));
            string text = _partial.ToString();
            Assert.False(Lines.Count == 0 && text.StartsWith("error:", StringComparison.Ordinal), $"the tap was refused: {text}");
            int end = text.LastIndexOf('\n');
            if (end < 0)
            {
                return;
            }

            Lines.AddRange(text[..end].Split('\n', StringSplitOptions.RemoveEmptyEntries));
            _partial.Clear().Append(text[(end + 1)..]);
        }
    }
}
