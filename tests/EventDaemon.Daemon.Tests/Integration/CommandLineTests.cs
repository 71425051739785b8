using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

[Collection(IntegrationCollection.Name)]
public sealed partial class CommandLineTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>A daemon that should refuse to start and instead runs is killed after this and reported.</summary>
    private static readonly TimeSpan MustFailWithin = TimeSpan.FromSeconds(15);

    private readonly string _dir = Directory.CreateTempSubdirectory("edt-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Validate_ReportsEveryErrorAsFileLineColumn_AndExitsOne()
    {
        string path = Write("bad.toml", """
            [daemon]
            ring_size = 1000
            bogus_key = 1

            [sources.in]
            type = "tcp"
            address = "127.0.0.1:7400"
            format = "jsonx"

            [transforms.clicks]
            type = "filter"
            inputs = ["nothere"]
            condition = 'type == '

            [sinks.out]
            type = "file"
            inputs = ["clicks"]
            path = "/tmp/out.jsonl"
            """);

        CliResult result = EventdBinary.Run("validate", "--config", path);
        Assert.True(result.ExitCode == 1, result.Describe());
        result.AssertNoStackTrace();
        string[] lines = result.StderrLines;
        foreach (string line in lines)
        {
            Assert.True(Diagnostic().IsMatch(line) && line.StartsWith(path + ":", StringComparison.Ordinal), $"not 'file:line:col: message': {line}\n{result.Describe()}");
        }

        // One per mistake, each at its place.
        foreach (string place in new[] { ":2:", ":3:", ":8:", ":12:", ":13:" })
        {
            Assert.True(lines.Count(l => l.StartsWith(path + place, StringComparison.Ordinal)) == 1, $"no single error reported at line {place.Trim(':')}:\n{result.Describe()}");
        }
    }

    [Fact]
    public void Validate_OfAGoodConfig_ExitsZero()
    {
        string path = Write("good.toml", $$"""
            [daemon]
            control_socket = "{{_dir}}/ctl.sock"

            [sources.in]
            type = "tcp"
            address = "127.0.0.1:7400"
            format = "json"

            [transforms.clicks]
            type = "filter"
            inputs = ["in"]
            condition = 'type == "click" && value > 0'

            [sinks.out]
            type = "file"
            inputs = ["clicks"]
            path = "{{_dir}}/out.jsonl"
            """);

        CliResult result = EventdBinary.Run("validate", "--config", path);
        Assert.True(result.ExitCode == 0 && result.Stderr.Length == 0, result.Describe());
    }

    [Fact]
    public void AMissingConfigFile_IsOneLineNamingIt_AndExitsNonZero()
    {
        string missing = Path.Combine(_dir, "missing.toml");
        foreach (string command in new[] { "run", "validate" })
        {
            CliResult result = EventdBinary.Run([command, "--config", missing], asNobody: false, MustFailWithin);
            AssertOneClearLine(result, missing);
        }
    }

    [Fact]
    public void APortAlreadyInUse_IsOneLineNamingIt_AndExitsNonZero()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        int port = ((IPEndPoint)taken.LocalEndPoint!).Port;

        CliResult result = EventdBinary.Run(["run", "--config", Config("plain", port)], asNobody: false, MustFailWithin);
        AssertOneClearLine(result, $"127.0.0.1:{port}");
    }

    [Fact]
    public void ASecondDaemonOnTheSamePort_RefusesToStart_InsteadOfSharingTheTraffic()
    {
        using DaemonProcess first = DaemonProcess.Start(output, l => $"""
            [sources.in]
            type = "tcp"
            address = "{l.Address("in")}"
            format = "json"

            [sinks.out]
            type = "blackhole"
            inputs = ["in"]
            """);
        int port = first.Layout.Port("in");

        CliResult second = EventdBinary.Run(["run", "--config", Config("second", port)], asNobody: false, MustFailWithin);
        AssertOneClearLine(second, $"127.0.0.1:{port}");
    }

    [Fact]
    public void AControlSocketPathThatCannotBeCreated_IsOneLineNamingIt_AndExitsNonZero()
    {
        CliResult result = EventdBinary.Run(["run", "--config", Config("proc", TestPorts.Next(), controlSocket: "/proc/x/ctl.sock")], asNobody: false, MustFailWithin);
        AssertOneClearLine(result, "/proc/x");
    }

    [Fact]
    public void AnUnknownFlag_IsNamedOnTheFirstLine_AndExitsNonZero()
    {
        foreach (string[] args in new[] { new[] { "run", "--bogus" }, ["stats", "--bogus"], ["validate", "--config"] })
        {
            CliResult result = EventdBinary.Run(args, asNobody: false, MustFailWithin);
            Assert.True(result.ExitCode != 0 && result.KilledAfter is null, result.Describe());
            Assert.True(result.StderrLines.Length >= 1 && result.StderrLines[0].StartsWith("eventd: ", StringComparison.Ordinal)
                && result.StderrLines[0].Contains(args[^1], StringComparison.Ordinal), $"the first line should name {args[^1]}:\n{result.Describe()}");
            result.AssertNoStackTrace();
        }
    }

    [Fact]
    public void AnUnexpectedErrorInAClientCommand_IsOneInternalErrorLine_ExitOne_NoStackTrace()
    {
        // An empty --socket used to end in "Unhandled exception. ArgumentOutOfRangeException" and
        // a stack trace (exit 134): nothing checks it before the socket API throws, so it reaches
        // the top-level handler.
        CliResult result = EventdBinary.Run(["stats", "--socket", ""], asNobody: false, MustFailWithin);

        Assert.True(result.ExitCode == 1, $"an unexpected error should exit 1:\n{result.Describe()}");
        result.AssertNoStackTrace();
        Assert.True(result.StderrLines.Length == 1 && result.StderrLines[0].StartsWith("eventd: error: internal error: ArgumentOutOfRangeException: ", StringComparison.Ordinal),
            $"expected one 'error: internal error: Type: message' line:\n{result.Describe()}");
    }

    [Fact]
    public void ManySinksUnderAnAddressSpaceLimit_AreOneLineSayingSo_NotAnOutOfMemoryCrash()
    {
        // 256 sinks (the most a config may have) are 256 threads with their stacks and buffers:
        // more than 2 GiB of address space. It used to end in OutOfMemoryException and a trace.
        var text = new System.Text.StringBuilder($"[daemon]\ncontrol_socket = \"{_dir}/oom.sock\"\n\n[sources.in]\ntype = \"tcp\"\naddress = \"127.0.0.1:0\"\n");
        for (int i = 0; i < 256; i++)
        {
            text.Append($"\n[sinks.out{i}]\ntype = \"blackhole\"\ninputs = [\"in\"]\n");
        }

        string path = Write("oom.toml", text.ToString());
        var start = new System.Diagnostics.ProcessStartInfo("prlimit") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string arg in new[] { $"--as={2L << 30}", EventdBinary.Path, "run", "--config", path })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        bool exited = process.WaitForExit(MustFailWithin);
        if (!exited)
        {
            process.Kill(entireProcessTree: true);
        }

        var result = new CliResult($"run --config {path} (under prlimit --as=2GiB)", exited ? process.ExitCode : -1, process.StandardOutput.ReadToEnd(), stderr.Result)
        {
            KilledAfter = exited ? null : MustFailWithin,
        };
        AssertOneClearLine(result, "not enough memory to build the pipeline");
        Assert.True(result.ExitCode == 1, $"expected exit 1:\n{result.Describe()}");
    }

    /// <summary>Non-zero exit, exactly one line that is not a warning, naming <paramref name="subject"/>, no stack trace.</summary>
    private static void AssertOneClearLine(CliResult result, string subject)
    {
        Assert.True(result.KilledAfter is null, $"expected a refusal to start:\n{result.Describe()}");
        Assert.True(result.ExitCode != 0, result.Describe());
        result.AssertNoStackTrace();
        string[] problems = result.StderrLines.Where(l => !l.Contains("warning:", StringComparison.Ordinal)).ToArray();
        Assert.True(problems.Length == 1 && problems[0].Contains(subject, StringComparison.Ordinal),
            $"expected one line naming {subject}:\n{result.Describe()}");
    }

    private string Config(string name, int port, string? controlSocket = null) => Write($"{name}.toml", $$"""
        [daemon]
        control_socket = "{{controlSocket ?? Path.Combine(_dir, name + ".sock")}}"
        ring_size = 1024
        arena_size = "1MiB"

        [sources.in]
        type = "tcp"
        address = "127.0.0.1:{{port}}"
        format = "json"

        [sinks.out]
        type = "blackhole"
        inputs = ["in"]
        """);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [GeneratedRegex(@"^.+:\d+:\d+: \S.*$")]
    private static partial Regex Diagnostic();
}
