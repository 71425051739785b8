using System.Text;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary>
/// <c>validate</c> refuses every config <c>run</c> would refuse, at the value's line and column;
/// and <c>run</c> refuses it in one line with exit code 1, never a stack trace. Each case is a
/// config that once passed <c>validate</c> and then failed (or crashed) at start.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class ValidateMatchesRunTests(ITestOutputHelper output) : IDisposable
{
    private readonly ITestOutputHelper _output = output;

    /// <summary>A daemon that should refuse to start and instead runs is killed after this and reported.</summary>
    private static readonly TimeSpan MustFailWithin = TimeSpan.FromSeconds(15);

    /// <summary>Where each case's one error is: the text marked by <c>⟨</c> (removed before writing).</summary>
    private const char Mark = '⟨';

    private readonly string _dir = Directory.CreateTempSubdirectory("edt-vr-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string, string> Refused => new()
    {
        // Used to crash in StreamSource's constructor with FormatException (exit 134).
        { "unresolvable host name", Source("tcp", "⟨\"nohost.invalid:80\"") },
        { "IPv4 literal out of range", Source("udp", "⟨\"256.1.1.1:80\"") },
        { "address of no local interface", Source("tcp", "⟨\"10.255.255.1:7400\"") },
        { "arena larger than memory", "[daemon]\narena_size = ⟨\"1TiB\"\n" + Source("tcp", "\"127.0.0.1:0\"") },
        { "state_dir under /proc", "[daemon]\nstate_dir = ⟨\"/proc/eventd-state\"\n" + Source("tcp", "\"127.0.0.1:0\"") },
        { "state_dir a regular file", "[daemon]\nstate_dir = ⟨\"/etc/passwd\"\n" + Source("tcp", "\"127.0.0.1:0\"") },
        { "file sink path a directory", FileSink("⟨\"/tmp\"") },
        { "file sink under a regular file", FileSink("⟨\"/etc/passwd/out.jsonl\"") },
        { "unix socket under a regular file", "[sources.in]\ntype = \"unix\"\npath = ⟨\"/etc/passwd/in.sock\"\n\n[sinks.out]\ntype = \"blackhole\"\ninputs = [\"in\"]\n" },
        { "unix socket under /proc", "[sources.in]\ntype = \"unix\"\npath = ⟨\"/proc/in.sock\"\n\n[sinks.out]\ntype = \"blackhole\"\ninputs = [\"in\"]\n" },
        { "file sink under /proc", FileSink("⟨\"/proc/self/status\"") },
        { "missing enrich table", Enrich("⟨\"/nonexistent/users.csv\"") },
        { "inputs mixing streams", MixedStreams },
        { "more than 64 sources", ManySources(65) },
        { "more than 64 fields read on one stream", WideFilter(65) },
        { "more than 256 sinks", ManySinks(2000) },
        { "nats source over tls, which its connection does not speak", "[sources.in]\ntype = \"nats\"\nurl = ⟨\"tls://127.0.0.1:4222\"\nstream = \"EVENTS\"\nconsumer = \"eventd\"\n\n[sinks.out]\ntype = \"blackhole\"\ninputs = [\"in\"]\n" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Validate_RefusesAtTheValue_AndRunRefusesInOneLine(string what, string marked)
    {
        (string path, int line, int column) = WriteMarked(what, marked);

        CliResult validate = EventdBinary.Run("validate", "--config", path);
        Assert.True(validate.ExitCode == 1, $"{what}: validate should exit 1\n{validate.Describe()}");
        validate.AssertNoStackTrace();
        string at = $"{path}:{line}:{column}: ";
        Assert.True(validate.StderrLines.Length == 1 && validate.StderrLines[0].StartsWith(at, StringComparison.Ordinal),
            $"{what}: validate should print one error at {line}:{column}\n{validate.Describe()}");

        CliResult run = EventdBinary.Run(["run", "--config", path], asNobody: false, MustFailWithin);
        Assert.True(run.ExitCode == 1, $"{what}: run should refuse to start with exit code 1\n{run.Describe()}");
        run.AssertNoStackTrace();
        Assert.True(run.StderrLines.Length == 1, $"{what}: run should refuse in one line\n{run.Describe()}");
        Assert.True(run.StderrLines[0] == validate.StderrLines[0], $"{what}: run should say what validate says\nvalidate: {validate.StderrLines[0]}\nrun: {run.StderrLines[0]}");
    }

    [Fact]
    public void AStateDirOnlyRootMayWrite_IsRefusedForAnotherUser_ByValidateAndRun()
    {
        string rootOnly = Path.Combine(_dir, "root-only");
        Directory.CreateDirectory(rootOnly, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // The test user must reach the config and the directory's parent, not write into it.
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101);
        (string path, int line, int column) = WriteMarked("root-only state_dir",
            $"[daemon]\ncontrol_socket = \"{_dir}/nobody.sock\"\nstate_dir = ⟨\"{rootOnly}/state\"\n" + Source("tcp", "\"127.0.0.1:0\""));
        File.SetUnixFileMode(path, (UnixFileMode)0b110_100_100);

        CliResult validate = EventdBinary.Run(["validate", "--config", path], asNobody: true);
        Assert.True(validate.ExitCode == 1 && validate.StderrLines.Length == 1 && validate.StderrLines[0].StartsWith($"{path}:{line}:{column}: state_dir: ", StringComparison.Ordinal),
            $"validate as another user should refuse the state_dir at {line}:{column}\n{validate.Describe()}");

        CliResult run = EventdBinary.Run(["run", "--config", path], asNobody: true, MustFailWithin);
        Assert.True(run.ExitCode == 1 && run.StderrLines.Length == 1, $"run as another user should refuse in one line\n{run.Describe()}");
        run.AssertNoStackTrace();

        CliResult asRoot = EventdBinary.Run("validate", "--config", path);
        Assert.True(asRoot.ExitCode == 0, $"the same config is fine for the directory's owner\n{asRoot.Describe()}");
    }

    [Fact]
    public void AHostNameThatResolves_IsBoundAtTheAddressItResolvedTo()
    {
        using DaemonProcess daemon = DaemonProcess.Start(_output, l => $"""
            [sources.in]
            type = "tcp"
            address = "localhost:{l.Port("in")}"

            [sinks.out]
            type = "blackhole"
            inputs = ["in"]
            """);

        // localhost resolves to 127.0.0.1 first here: the source listens there.
        TestSockets.SendTcp(daemon.Layout.Port("in"), "{\"type\":\"a\"}\n");
        Eventually.True(() => daemon.Stats().Value("events_received_total", ("source", "in")) == 1,
            () => $"the event sent to 127.0.0.1 never arrived: {daemon.Stats().Describe("events_received_total")}");
    }

    private static string Source(string type, string address) =>
        $"[sources.in]\ntype = \"{type}\"\naddress = {address}\n\n[sinks.out]\ntype = \"blackhole\"\ninputs = [\"in\"]\n";

    private static string FileSink(string path) =>
        $"[sources.in]\ntype = \"tcp\"\naddress = \"127.0.0.1:0\"\n\n[sinks.out]\ntype = \"file\"\ninputs = [\"in\"]\npath = {path}\n";

    private static string Enrich(string table) =>
        "[sources.in]\ntype = \"tcp\"\naddress = \"127.0.0.1:0\"\n\n"
        + $"[transforms.users]\ntype = \"enrich\"\ninputs = [\"in\"]\nfield = \".user\"\ntable = {table}\n\n"
        + "[sinks.out]\ntype = \"blackhole\"\ninputs = [\"users\"]\n";

    /// <summary>A sink reading both an aggregate's results and the raw events it aggregates.</summary>
    private const string MixedStreams = """
        [sources.in]
        type = "tcp"
        address = "127.0.0.1:0"

        [transforms.per_type]
        type = "aggregate"
        inputs = ["in"]
        window = "1s"
        group_by = ["type"]
        metrics = ["count"]

        [sinks.out]
        type = "blackhole"
        inputs = ["per_type", ⟨"in"]
        """;

    private static string ManySources(int count)
    {
        var text = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            text.Append(i == 64 ? "⟨" : "").Append($"[sources.in{i}]\ntype = \"udp\"\naddress = \"127.0.0.1:0\"\n\n");
        }

        text.Append("[sinks.out]\ntype = \"blackhole\"\ninputs = [")
            .AppendJoin(", ", Enumerable.Range(0, count).Select(i => $"\"in{i}\""))
            .Append("]\n");
        return text.ToString();
    }

    /// <summary>A filter naming more distinct .fields than the readers decode for one stream.</summary>
    private static string WideFilter(int fields) =>
        "[sources.in]\ntype = \"tcp\"\naddress = \"127.0.0.1:0\"\n\n⟨[transforms.wide]\ntype = \"filter\"\ninputs = [\"in\"]\n"
        + $"condition = '{string.Join(" || ", Enumerable.Range(0, fields).Select(i => $".f{i} > 0"))}'\n\n"
        + "[sinks.out]\ntype = \"blackhole\"\ninputs = [\"wide\"]\n";

    private static string ManySinks(int count)
    {
        var text = new StringBuilder("[sources.in]\ntype = \"tcp\"\naddress = \"127.0.0.1:0\"\n\n");
        for (int i = 0; i < count; i++)
        {
            text.Append(i == 256 ? "⟨" : "").Append($"[sinks.out{i}]\ntype = \"blackhole\"\ninputs = [\"in\"]\n\n");
        }

        return text.ToString();
    }

    /// <summary>Writes the config without its mark; returns the 1-based line and column of the mark.</summary>
    private (string Path, int Line, int Column) WriteMarked(string what, string marked)
    {
        int at = marked.IndexOf(Mark, StringComparison.Ordinal);
        Assert.True(at >= 0, $"{what}: the case has no mark");
        string before = marked[..at];
        int line = before.Count(c => c == '\n') + 1;
        int column = at - (before.LastIndexOf('\n') + 1) + 1;
        string text = marked.Remove(at, 1);
        if (!text.Contains("control_socket", StringComparison.Ordinal))
        {
            // Its own socket, so a daemon that wrongly starts never meets another test's; the
            // [daemon] table (first when present) gets the key, shifting the marked line by one.
            bool hasDaemon = text.StartsWith("[daemon]\n", StringComparison.Ordinal);
            string key = $"control_socket = \"{_dir}/ctl.sock\"\n";
            text = hasDaemon ? text.Insert("[daemon]\n".Length, key) : "[daemon]\n" + key + "\n" + text;
            line += hasDaemon ? 1 : 3;
        }

        string path = Path.Combine(_dir, "case.toml");
        File.WriteAllText(path, text);
        return (path, line, column);
    }
}
