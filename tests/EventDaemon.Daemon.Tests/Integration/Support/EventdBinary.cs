using System.Diagnostics;
using System.Text;
using Xunit;

namespace EventDaemon.Daemon.Tests.Integration.Support;

/// <summary>Where the published binary is, and how to run its client commands.</summary>
internal static class EventdBinary
{
    /// <summary>Longest a client command (stats, ctl, validate) may take before the test fails.</summary>
    private static readonly TimeSpan CommandDeadline = TimeSpan.FromSeconds(60);

    private static readonly Lazy<string> Root = new(FindRepoRoot);

    /// <summary>The folder holding EventDaemon.sln.</summary>
    public static string RepoRoot => Root.Value;

    /// <summary>
    /// <c>artifacts/eventd</c>. A missing binary fails the test (never skips it): these tests are
    /// about the published program, and a silent skip would pass a build that was never published.
    /// </summary>
    public static string Path
    {
        get
        {
            string path = System.IO.Path.Combine(RepoRoot, "artifacts", "eventd");
            if (!File.Exists(path))
            {
                Assert.Fail($"{path} is missing: run `make publish` (or `sh scripts/publish.sh`) before the integration tests");
            }

            return path;
        }
    }

    /// <summary>Runs <c>eventd ARGS</c> to completion and returns what it printed.</summary>
    public static CliResult Run(params string[] args) => Run(args, asNobody: false);

    /// <summary>
    /// Runs <c>eventd ARGS</c>; with <paramref name="asNobody"/>, as uid/gid 65534 with no
    /// supplementary groups (through <c>setpriv</c>), i.e. as a user who is not the daemon's.
    /// </summary>
    public static CliResult Run(IEnumerable<string> args, bool asNobody) => Run(args, asNobody, CommandDeadline);

    /// <summary>
    /// Runs <c>eventd ARGS</c>, killing it after <paramref name="deadline"/> (the result then says
    /// so, with exit code -1): for commands that should fail at once but might instead keep running.
    /// </summary>
    public static CliResult Run(IEnumerable<string> args, bool asNobody, TimeSpan deadline)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        if (asNobody)
        {
            start.FileName = "setpriv";
            start.ArgumentList.Add("--reuid=65534");
            start.ArgumentList.Add("--regid=65534");
            start.ArgumentList.Add("--clear-groups");
            start.ArgumentList.Add(Path);
        }
        else
        {
            start.FileName = Path;
        }

        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {start.FileName}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        bool finished = process.WaitForExit(deadline);
        if (!finished)
        {
            process.Kill(entireProcessTree: true);
        }

        process.WaitForExit();
        return new CliResult(string.Join(' ', start.ArgumentList), finished ? process.ExitCode : -1, stdout.Result, stderr.Result)
        {
            KilledAfter = finished ? null : deadline,
        };
    }

    private static string FindRepoRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "EventDaemon.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no EventDaemon.sln above {AppContext.BaseDirectory}");
    }
}

/// <summary>The outcome of one client command.</summary>
internal sealed record CliResult(string CommandLine, int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Set when the command did not finish and was killed.</summary>
    public TimeSpan? KilledAfter { get; init; }

    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>For assertion messages: everything the command said.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        text.Append("eventd ").Append(CommandLine).Append(" -> ")
            .Append(KilledAfter is { } after ? $"still running after {after.TotalSeconds:0} s, killed" : $"exit {ExitCode}").Append('\n');
        text.Append("stdout:\n").Append(Stdout).Append("stderr:\n").Append(Stderr);
        return text.ToString();
    }

    /// <summary>A person's mistake is one line that names it; never a .NET stack trace.</summary>
    public void AssertNoStackTrace()
    {
        Assert.False(Stderr.Contains("   at ", StringComparison.Ordinal) || Stderr.Contains("Unhandled exception", StringComparison.Ordinal),
            $"a stack trace was printed:\n{Describe()}");
    }
}
