using EventDaemon.Daemon.Journal;
using EventDaemon.Daemon.Tests.Sinks;
using Xunit;
using static EventDaemon.Daemon.Tests.Journal.JournalTestSupport;

namespace EventDaemon.Daemon.Tests.Journal;

public sealed class JournalCheckTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string Dir => _directory.File("journal");

    private void Write(long count)
    {
        JournalOptions options = Options(Dir);
        using var writer = new JournalWriter(options, JournalState.Recover(options));
        Append(writer, 0, count, perGroup: 100);
    }

    [Fact]
    public void Verify_IntactJournal_HasNoProblems()
    {
        Write(20_000);
        JournalCheck.Report report = JournalCheck.Verify(Dir);
        Assert.True(report.Problems.Count == 0, $"an intact journal verifies clean: {string.Join("; ", report.Problems)}");
        Assert.True(report.Records == 20_000 && report.Segments >= 2, $"verify should read all 20000 records across segments: {report.Records} in {report.Segments}");
    }

    [Fact]
    public void Verify_FlippedBit_NamesTheSegmentAndOffset_AndRepairKeepsEveryIntactRecord()
    {
        Write(1_000);
        string segment = Directory.GetFiles(Dir, "*.journal").Single();
        // The second record of the first group.
        long offset = JournalLayout.SegmentHeaderBytes + JournalLayout.GroupHeaderBytes + JournalLayout.RecordBytes(Payload(0).Length);
        FlipBit(segment, offset + 10);

        JournalCheck.Report damaged = JournalCheck.Verify(Dir);
        string problem = Assert.Single(damaged.Problems);
        Assert.True(problem.Contains(Path.GetFileName(segment), StringComparison.Ordinal) && problem.Contains($"offset {offset}", StringComparison.Ordinal),
            $"the problem should name the segment and offset {offset}: {problem}");
        Assert.True(damaged.LostRecords == 99, $"the first group's 99 records after the damaged one are lost: {damaged.LostRecords}");

        JournalCheck.Report repaired = JournalCheck.Repair(Dir);
        Assert.True(repaired.Problems.Count == 0 && repaired.Records == 901, $"repair should keep the 901 intact records: {repaired.Records}, {string.Join("; ", repaired.Problems)}");
        JournalCheck.Report after = JournalCheck.Verify(Dir);
        Assert.True(after.Problems.Count == 0 && after.Records == 901, $"after repair the journal verifies clean with 901 records: {after.Records}, {string.Join("; ", after.Problems)}");
        List<long> read = ReadAll(Dir, 0, out _);
        Assert.True(read.SequenceEqual(new long[] { 0 }.Concat(Enumerable.Range(100, 900).Select(i => (long)i))), $"the intact records keep their sequences and bytes: read {read.Count}");
    }

    [Fact]
    public void Verify_TornFinalWrite_IsANoteNotAProblem()
    {
        Write(500);
        string segment = Directory.GetFiles(Dir, "*.journal").Single();
        JournalState state = JournalState.Recover(Options(Dir));
        long end = state.Tail!.Value.Position;
        state.Release();
        using (var file = new FileStream(segment, FileMode.Open, FileAccess.Write))
        {
            file.Position = end;
            file.Write([0x52, 0x47, 0x52, 0x50, 1, 2, 3, 4, 5, 6, 7, 8]);
        }

        JournalCheck.Report report = JournalCheck.Verify(Dir);
        Assert.True(report.Problems.Count == 0, $"a torn final write is not damage: {string.Join("; ", report.Problems)}");
        Assert.True(report.Notes.Any(n => n.Contains("torn final write", StringComparison.Ordinal)), $"verify should mention the torn write: {string.Join("; ", report.Notes)}");
    }

    [Fact]
    public void Repair_WhileAWriterHoldsTheJournal_IsRefused()
    {
        JournalOptions options = Options(Dir);
        using var writer = new JournalWriter(options, JournalState.Recover(options));
        JournalException refused = Assert.Throws<JournalException>(() => JournalCheck.Repair(Dir));
        Assert.True(refused.Message.Contains("in use", StringComparison.Ordinal), $"repair should say the journal is in use: {refused.Message}");
    }
}
