using EventDaemon.Daemon.Journal;
using EventDaemon.Daemon.Tests.Integration.Support;
using EventDaemon.Daemon.Tests.Journal;
using EventDaemon.Daemon.Tests.Sinks;
using Xunit;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary><c>eventd journal verify|repair --config PATH</c>: finds the journal as run does, exit codes and lines.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class JournalCommandTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string Journal => _directory.File("state/journal");

    private string WriteConfig(bool withJournal)
    {
        string path = _directory.File("eventd.toml");
        File.WriteAllText(path, $"""
            [daemon]
            state_dir = "{_directory.File("state")}"
            control_socket = "{_directory.File("ctl.sock")}"
            {(withJournal ? "\n[journal]\nsegment_bytes = \"3MiB\"\n" : "")}
            [sources.in]
            type = "tcp"
            address = "127.0.0.1:7400"

            [sinks.out]
            type = "blackhole"
            inputs = ["in"]
            """);
        return path;
    }

    private void WriteJournal(long count)
    {
        JournalOptions options = JournalTestSupport.Options(Journal);
        using var writer = new JournalWriter(options, JournalState.Recover(options));
        JournalTestSupport.Append(writer, 0, count, perGroup: 100);
    }

    [Fact]
    public void Verify_ConfigWithoutJournal_ExitsOne_SayingSo()
    {
        CliResult result = EventdBinary.Run("journal", "verify", "--config", WriteConfig(withJournal: false));
        Assert.True(result.ExitCode == 1 && result.Stderr.Contains("has no [journal] table", StringComparison.Ordinal),
            $"a config without a journal has nothing to verify: {result.Describe()}");
        result.AssertNoStackTrace();
    }

    [Fact]
    public void Verify_FlippedBit_ExitsOne_NamingSegmentAndOffset_RepairFixesIt_AndVerifyPasses()
    {
        string config = WriteConfig(withJournal: true);
        WriteJournal(1_000);
        CliResult intact = EventdBinary.Run("journal", "verify", "--config", config);
        Assert.True(intact.ExitCode == 0 && intact.Stdout.Contains("1000 records, 0 lost", StringComparison.Ordinal), $"an intact journal verifies: {intact.Describe()}");

        string segment = Directory.GetFiles(Journal, "*.journal").Single();
        long offset = JournalLayout.SegmentHeaderBytes + JournalLayout.GroupHeaderBytes + JournalLayout.RecordBytes(JournalTestSupport.Payload(0).Length);
        JournalTestSupport.FlipBit(segment, offset + 10);

        CliResult damaged = EventdBinary.Run("journal", "verify", "--config", config);
        Assert.True(damaged.ExitCode == 1 && damaged.Stderr.Contains(Path.GetFileName(segment), StringComparison.Ordinal)
            && damaged.Stderr.Contains($"offset {offset}", StringComparison.Ordinal),
            $"verify should exit 1 naming {Path.GetFileName(segment)} and offset {offset}: {damaged.Describe()}");

        CliResult repaired = EventdBinary.Run("journal", "repair", "--config", config);
        Assert.True(repaired.ExitCode == 0, $"repair should keep the intact records and exit 0: {repaired.Describe()}");
        CliResult after = EventdBinary.Run("journal", "verify", "--config", config);
        Assert.True(after.ExitCode == 0 && after.Stdout.Contains("901 records", StringComparison.Ordinal), $"the repaired journal verifies with its 901 intact records: {after.Describe()}");
    }

    [Fact]
    public void Repair_WhileAnotherProcessHoldsTheJournal_IsRefused_ExitOne()
    {
        string config = WriteConfig(withJournal: true);
        WriteJournal(10);
        JournalState held = JournalState.Recover(JournalTestSupport.Options(Journal));
        try
        {
            CliResult refused = EventdBinary.Run("journal", "repair", "--config", config);
            Assert.True(refused.ExitCode == 1 && refused.Stderr.Contains("in use by another process", StringComparison.Ordinal),
                $"repair must not run under a daemon: {refused.Describe()}");
        }
        finally
        {
            held.Release();
        }
    }
}
