using System.Diagnostics;
using EventDaemon.Daemon.Control;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary>
/// The command line of the published binary: help for every command, suggestions for typos, exit 2
/// on usage errors, <c>ctl help</c> without a daemon, the man page and the completion script in
/// step with the binary's own command table.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class HelpTests : IDisposable
{
    private static readonly string[] Commands = ["run", "validate", "stats", "ctl", "top", "tap", "test", "journal", "graph", "version", "help", "completion"];

    private readonly string _dir = Directory.CreateTempSubdirectory("edt-help-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Help_ListsEveryCommand_WithItsSummary()
    {
        CliResult help = EventdBinary.Run("help");

        Assert.True(help.ExitCode == 0 && help.Stderr.Length == 0, help.Describe());
        foreach (string command in Commands)
        {
            Assert.True(help.Stdout.Split('\n').Any(l => l.StartsWith($"  {command} ", StringComparison.Ordinal)),
                $"'eventd help' does not list {command}:\n{help.Describe()}");
        }
    }

    [Fact]
    public void EveryCommand_HasHelp_ByHelpCommand_DashDashHelp_AndDashH_AllTheSame()
    {
        foreach (string command in Commands)
        {
            CliResult byHelp = EventdBinary.Run("help", command);
            Assert.True(byHelp.ExitCode == 0 && byHelp.Stdout.StartsWith($"usage: eventd {command}", StringComparison.Ordinal),
                $"'eventd help {command}' should print its usage:\n{byHelp.Describe()}");
            Assert.True(byHelp.Stdout.Contains("-h, --help", StringComparison.Ordinal), $"the help of {command} should list --help:\n{byHelp.Describe()}");
            foreach (string flag in new[] { "--help", "-h" })
            {
                CliResult byFlag = EventdBinary.Run(command, flag);
                Assert.True(byFlag.ExitCode == 0, $"'eventd {command} {flag}' should exit 0:\n{byFlag.Describe()}");
                Assert.True(byFlag.Stdout == byHelp.Stdout, $"'eventd {command} {flag}' differs from 'eventd help {command}':\n{byFlag.Describe()}\n{byHelp.Describe()}");
            }
        }
    }

    [Fact]
    public void RunHelp_ExitsZero_AndNamesTheConfigFlag_WithoutStartingADaemon()
    {
        CliResult result = EventdBinary.Run("run", "--help");

        Assert.True(result.ExitCode == 0 && result.KilledAfter is null, result.Describe());
        Assert.True(result.Stdout.Contains("--config PATH", StringComparison.Ordinal), $"run's help should show --config PATH:\n{result.Describe()}");
    }

    [Fact]
    public void AMistypedCommand_GetsASuggestion_AndExitsTwo()
    {
        CliResult result = EventdBinary.Run("statz");

        Assert.True(result.ExitCode == 2, $"a usage error exits 2:\n{result.Describe()}");
        Assert.True(result.Stderr == "eventd: unknown command 'statz'; did you mean 'stats'? (see 'eventd help')\n",
            $"expected one line with the suggestion:\n{result.Describe()}");
    }

    [Fact]
    public void AMistypedFlag_GetsASuggestion_AndExitsTwo()
    {
        CliResult result = EventdBinary.Run("validate", "--confg", "x.toml");

        Assert.True(result.ExitCode == 2, $"a usage error exits 2:\n{result.Describe()}");
        Assert.True(result.Stderr == "eventd: validate: unknown option '--confg'; did you mean '--config'? (see 'eventd help validate')\n",
            $"expected one line with the suggestion:\n{result.Describe()}");
    }

    [Fact]
    public void EveryUsageError_ExitsTwo_WithOneLineNamingIt()
    {
        string[][] mistakes =
        [
            ["validate"], ["validate", "--config"], ["graph", "--format", "svg"], ["version", "extra"],
            ["completion", "zsh"], ["help", "statz"], ["ctl"], ["ctl", "helth"], ["stats", "--jsn"],
        ];
        foreach (string[] args in mistakes)
        {
            CliResult result = EventdBinary.Run(args);
            Assert.True(result.ExitCode == 2, $"a usage error exits 2:\n{result.Describe()}");
            Assert.True(result.StderrLines.Length == 1 && result.Stderr.StartsWith("eventd: ", StringComparison.Ordinal) && result.Stderr.EndsWith('\n'),
                $"expected one 'eventd: ...' line:\n{result.Describe()}");
            result.AssertNoStackTrace();
        }
    }

    [Fact]
    public void UsageText_EndsWithANewline_WhetherAskedForOrShownOnAnError()
    {
        CliResult bare = EventdBinary.Run();
        Assert.True(bare.ExitCode == 2, $"eventd with no command is a usage error:\n{bare.Describe()}");
        Assert.True(bare.Stderr.StartsWith("usage: eventd", StringComparison.Ordinal) && bare.Stderr.EndsWith(".\n", StringComparison.Ordinal),
            $"the usage should end with a full line:\n{bare.Describe()}");

        foreach (string[] args in new[] { new[] { "help" }, ["help", "graph"], ["ctl", "--help"] })
        {
            CliResult help = EventdBinary.Run(args);
            Assert.True(help.Stdout.EndsWith('\n') && !help.Stdout.EndsWith("\n\n", StringComparison.Ordinal),
                $"help should end with exactly one newline:\n{help.Describe()}");
        }
    }

    [Fact]
    public void CtlHelp_ListsTheControlCommands_WithNoDaemonRunning()
    {
        string socket = Path.Combine(_dir, "nobody-listens.sock");
        CliResult result = EventdBinary.Run("ctl", "help", "--socket", socket);

        Assert.True(result.ExitCode == 0, $"ctl help needs no daemon:\n{result.Describe()}");
        Assert.True(result.Stdout == ControlCommands.HelpText, $"ctl help should print the server's own list:\n{result.Describe()}");
        foreach (ControlCommand command in ControlCommands.All)
        {
            Assert.True(result.Stdout.Contains(command.Line + " ", StringComparison.Ordinal), $"'{command.Line}' is not listed:\n{result.Describe()}");
        }
    }

    [Fact]
    public void ManPage_InDocs_IsExactlyWhatTheBinaryPrints()
    {
        CliResult man = EventdBinary.Run("help", "--man");
        string checkedIn = File.ReadAllText(Path.Combine(EventdBinary.RepoRoot, "docs", "eventd.1"));

        Assert.True(man.ExitCode == 0, man.Describe());
        Assert.True(man.Stdout == checkedIn, "docs/eventd.1 is out of date with the binary's help: run 'make docs' and commit it");
        foreach (string command in Commands)
        {
            Assert.True(man.Stdout.Contains($".SS \"eventd {command}", StringComparison.Ordinal), $"the man page has no section for {command}");
        }
    }

    [Fact]
    public void CompletionScript_PassesBashSyntaxCheck_AndCompletesCommandsFlagsAndValues()
    {
        CliResult completion = EventdBinary.Run("completion", "bash");
        Assert.True(completion.ExitCode == 0, completion.Describe());
        Assert.True(completion.Stdout == File.ReadAllText(Path.Combine(EventdBinary.RepoRoot, "docs", "eventd.bash-completion")),
            "docs/eventd.bash-completion (what install.sh installs) is out of date: run 'make docs' and commit it");
        string script = Path.Combine(_dir, "eventd.bash");
        File.WriteAllText(script, completion.Stdout);

        (int syntax, string syntaxOut) = Bash($"bash -n '{script}'");
        Assert.True(syntax == 0, $"bash -n rejects the completion script: {syntaxOut}");

        Assert.True(Complete(script, "eventd sta") == "stats", "the command 'sta' should complete to 'stats'");
        Assert.True(Complete(script, "eventd graph --f") == "--format", "graph's '--f' should complete to '--format'");
        Assert.True(Complete(script, "eventd graph --format ") == "dot text", "--format should offer its values");
        Assert.True(Complete(script, "eventd ctl he") == "health help", "ctl should offer the control commands");
    }

    [Fact]
    public void Install_PutsTheManPageAndCompletionWhereManAndBashCompletionLook()
    {
        string root = Path.Combine(_dir, "root");
        (int exit, string output) = Bash($"DESTDIR='{root}' EVENTD_BINARY='{EventdBinary.Path}' sh '{EventdBinary.RepoRoot}/scripts/install.sh'");

        Assert.True(exit == 0, $"install.sh failed: {output}");
        string docs = Path.Combine(EventdBinary.RepoRoot, "docs");
        string man = Path.Combine(root, "usr/local/share/man/man1/eventd.1");
        string completion = Path.Combine(root, "usr/local/share/bash-completion/completions/eventd");
        Assert.True(File.Exists(man) && File.ReadAllText(man) == File.ReadAllText(Path.Combine(docs, "eventd.1")), $"no man page at {man}: {output}");
        Assert.True(File.Exists(completion) && File.ReadAllText(completion) == File.ReadAllText(Path.Combine(docs, "eventd.bash-completion")),
            $"no completion script at {completion}: {output}");
    }

    /// <summary>What the completion function offers for <paramref name="line"/> (the last word is the one completed).</summary>
    private static string Complete(string script, string line)
    {
        string words = string.Join(' ', line.Split(' ').Select(w => $"'{w}'"));
        (int exit, string output) = Bash($"source '{script}'; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); _eventd; echo \"${{COMPREPLY[*]}}\"");
        Assert.True(exit == 0, $"completing '{line}' failed: {output}");
        return string.Join(' ', output.Trim().Split(' ').Order(StringComparer.Ordinal));
    }

    private static (int Exit, string Output) Bash(string command)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        using var process = Process.Start(start)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), $"bash -c {command} did not finish");
        return (process.ExitCode, stdout + stderr.Result);
    }
}
