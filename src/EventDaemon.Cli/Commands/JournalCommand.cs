using System.Globalization;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Hosting;
using EventDaemon.Daemon.Journal;

namespace EventDaemon.Cli.Commands;

/// <summary>
/// <c>eventd journal verify|repair --config PATH</c> (SPEC §7): finds the journal the way <c>run</c>
/// would (the config's <c>[journal] dir</c> under its <c>state_dir</c>) and checks or repairs it.
/// </summary>
/// <remarks>Exit codes: 0 intact (or repaired), 1 a problem found, the config refused, or the
/// journal in use by a running daemon (repair only).</remarks>
public static class JournalCommand
{
    /// <summary>Reads every segment without changing anything; exit 1 naming segment and offset of each problem.</summary>
    public static int Verify(string configPath, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        if (Directory(configPath, stderr) is not { } directory)
        {
            return 1;
        }

        JournalCheck.Report report = JournalCheck.Verify(directory);
        Print(report, directory, stdout, stderr);
        if (report.Problems.Count > 0)
        {
            return 1;
        }

        stdout.WriteLine($"{directory}: ok");
        return 0;
    }

    /// <summary>Rewrites damaged segments keeping every intact record; refused while a daemon holds the journal.</summary>
    public static int Repair(string configPath, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        if (Directory(configPath, stderr) is not { } directory)
        {
            return 1;
        }

        JournalCheck.Report report;
        try
        {
            report = JournalCheck.Repair(directory);
        }
        catch (JournalException e)
        {
            // Held by a running daemon: repairing under it would race its writes.
            stderr.WriteLine($"eventd: {e.Message}");
            return 1;
        }
        catch (IOException e)
        {
            stderr.WriteLine($"eventd: journal: repair of {directory} failed: {e.Message}");
            return 1;
        }

        Print(report, directory, stdout, stderr);
        if (report.Problems.Count > 0)
        {
            return 1;
        }

        stdout.WriteLine($"{directory}: repaired");
        return 0;
    }

    /// <summary>The journal directory the config names, or null (the reason written to <paramref name="stderr"/>).</summary>
    private static string? Directory(string configPath, TextWriter stderr)
    {
        if (!File.Exists(configPath))
        {
            stderr.WriteLine($"eventd: config file '{configPath}' not found");
            return null;
        }

        ConfigResult loaded = DaemonHost.Validate(configPath);
        if (loaded.Config is not { } config)
        {
            ErrorFormatter.Write(stderr, loaded.Errors);
            return null;
        }

        if (config.Journal is not { } journal)
        {
            stderr.WriteLine($"eventd: {configPath} has no [journal] table, so the daemon keeps no journal to check");
            return null;
        }

        return journal.Directory;
    }

    private static void Print(JournalCheck.Report report, string directory, TextWriter stdout, TextWriter stderr)
    {
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{directory}: {report.Segments} segments, {report.Records} records, {report.LostRecords} lost"));
        foreach (string note in report.Notes)
        {
            stdout.WriteLine($"note: {note}");
        }

        foreach (string problem in report.Problems)
        {
            stderr.WriteLine($"error: {problem}");
        }
    }
}
