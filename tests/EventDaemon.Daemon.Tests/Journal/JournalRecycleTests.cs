using EventDaemon.Daemon.Journal;
using EventDaemon.Daemon.Tests.Integration.Support;
using EventDaemon.Daemon.Tests.Sinks;
using Xunit;
using static EventDaemon.Daemon.Tests.Journal.JournalTestSupport;

namespace EventDaemon.Daemon.Tests.Journal;

/// <summary>
/// Segments retention lets go become the next spares instead of new ones being zeroed; the older
/// groups left in a recycled segment never read as records.
/// </summary>
public sealed class JournalRecycleTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string Dir => _directory.File("journal");

    [Fact]
    public void Retain_RecyclesTheOldestSegmentAsASpare_DeletesBeyondTheBound_AndTheRecycledOneIsWrittenNext()
    {
        JournalOptions options = Options(Dir);
        using var writer = new JournalWriter(options, JournalState.Recover(options));
        Append(writer, 0, 60_000);
        IReadOnlyList<JournalSegment> segments = writer.Segments;
        Assert.True(segments.Count >= 5, $"60 000 records should fill at least 5 segments, filled {segments.Count}");
        string zeroed = Path.Combine(Dir, "next.spare");
        Eventually.True(() => File.Exists(zeroed) && writer.SpareFiles == 1, () => $"the preparer should zero the next spare after the last roll: {writer.SpareFiles} spares", TimeSpan.FromSeconds(10));

        int removed = writer.Retain(long.MaxValue, retentionBytes: 0);

        Assert.True(removed == segments.Count - 1, $"every segment but the current one should go, {removed} of {segments.Count - 1} did");
        string recycled = Path.ChangeExtension(segments[0].Path, ".spare");
        string[] spares = Directory.GetFiles(Dir, "*.spare");
        Assert.True(spares.Length == JournalWriter.MaxSpares && spares.Contains(recycled) && spares.Contains(zeroed),
            $"the zeroed spare and the oldest segment, recycled, should be the {JournalWriter.MaxSpares} spares: {string.Join(", ", spares.Select(Path.GetFileName))}");
        Assert.True(segments.Take(segments.Count - 1).All(s => !File.Exists(s.Path)), "no segment let go should keep its name");
        Assert.True(segments.Skip(1).Take(segments.Count - 2).All(s => !File.Exists(Path.ChangeExtension(s.Path, ".spare"))),
            "segments beyond the spare bound should be deleted, not kept as spares");

        // Two rolls: the first takes the zeroed spare, the second the recycled one.
        long next = 60_000;
        string first = RollOnce(writer, ref next);
        Assert.True(!IsRecycled(first), "the first new segment should be the zeroed spare, its header saying so");
        string second = RollOnce(writer, ref next);
        Assert.True(IsRecycled(second) && !File.Exists(recycled), $"the second new segment ({Path.GetFileName(second)}) should be the recycled file, with its header saying so");
        writer.Dispose();
        List<long> read = ReadAll(Dir, 0, out JournalReader reader);
        long oldest = JournalState.ListSegments(Dir, [])[0].FirstSequence;
        Assert.True(read.SequenceEqual(Range(oldest, next - 1)), $"the journal should read {oldest}..{next - 1} in order, read {read.Count} records ending at {(read.Count > 0 ? read[^1] : -1)}");
        Assert.True(reader.Damage.Count == 0 && reader.LostRecords == 0, $"a journal with a recycled segment reads clean: {string.Join("; ", reader.Damage)}");
    }

    [Fact]
    public void RecycledSegment_FullOfOlderGroups_ReadsOnlyItsOwnRecords_AndVerifiesClean()
    {
        JournalOptions options = Options(Dir);
        long last;
        string current;
        using (JournalWriter writer = WriteIntoARecycledSegment(options, out last))
        {
            current = writer.Segments[^1].Path;
        }

        (long end, long firstStale) = LiveEndAndStaleGroup(current);
        Assert.True(firstStale >= 0, $"{Path.GetFileName(current)} should still hold an intact older group after its live end {end}, or this test shows nothing");

        List<long> read = ReadAll(Dir, 0, out JournalReader reader);
        long first = JournalState.ListSegments(Dir, [])[0].FirstSequence;
        Assert.True(read.SequenceEqual(Range(first, last)), $"the journal should read {first}..{last} and nothing older, read {read.Count} records ending at {(read.Count > 0 ? read[^1] : -1)}");
        Assert.True(reader.Damage.Count == 0 && reader.LostRecords == 0, $"an older segment's leftovers are not damage: {string.Join("; ", reader.Damage)}");
        Assert.True(reader.Tail is { } tail && tail.End == end && tail.DirtyEnd == end && tail.LastSequence == last,
            $"the tail should end at the last live group ({end}, sequence {last}) with nothing torn after it: {reader.Tail}");

        JournalCheck.Report report = JournalCheck.Verify(Dir);
        Assert.True(report.Problems.Count == 0 && report.Notes.Count == 0,
            $"verify should pass a journal with recycled segments without a note: {string.Join("; ", report.Problems.Concat(report.Notes))}");

        JournalState state = JournalState.Recover(options);
        state.Release();
        Assert.True(state.LastSequence == last && state.TornBytes == 0 && state.Tail?.Position == end,
            $"start-up should resume after {last} at {end} with nothing zeroed: last {state.LastSequence}, torn {state.TornBytes}, at {state.Tail?.Position}");
    }

    [Fact]
    public void TornTail_InARecycledSegment_IsZeroed_AndWritingResumesWithoutOlderRecords()
    {
        JournalOptions options = Options(Dir);
        long last;
        string current;
        using (JournalWriter writer = WriteIntoARecycledSegment(options, out last))
        {
            current = writer.Segments[^1].Path;
        }

        // A power cut tore the next group: its header reached the disk, one of its records did not.
        (long end, _) = LiveEndAndStaleGroup(current);
        byte[] group = Group(last + 1, last + 60);
        group[JournalLayout.GroupHeaderBytes + (group.Length / 2)] ^= 0x5A;
        WriteAt(current, group, end);

        JournalState state = JournalState.Recover(options);
        Assert.True(state.LastSequence == last && state.TornBytes >= group.Length && state.Tail?.Position == end,
            $"the torn group should be zeroed and writing resume at {end} after {last}: last {state.LastSequence}, torn {state.TornBytes}, at {state.Tail?.Position}");

        // Fewer bytes than the torn group: whatever follows the new end must still not read as records.
        using (var writer = new JournalWriter(options, state))
        {
            Append(writer, last + 1, last + 21, perGroup: 10);
        }

        List<long> read = ReadAll(Dir, 0, out JournalReader reader);
        long first = JournalState.ListSegments(Dir, [])[0].FirstSequence;
        Assert.True(read.SequenceEqual(Range(first, last + 20)), $"the journal should read {first}..{last + 20}, read {read.Count} records ending at {(read.Count > 0 ? read[^1] : -1)}");
        Assert.True(reader.Damage.Count == 0 && reader.LostRecords == 0, $"nothing of the torn write or the older groups should show: {string.Join("; ", reader.Damage)}");
        JournalCheck.Report report = JournalCheck.Verify(Dir);
        Assert.True(report.Problems.Count == 0, $"verify should pass after the torn tail was zeroed: {string.Join("; ", report.Problems)}");
    }

    [Fact]
    public void FlippedBit_InARecycledSegment_ResyncsOnTheNextGroup_WithoutTakingAnOlderOne()
    {
        JournalOptions options = Options(Dir);
        long last;
        string current;
        using (JournalWriter writer = WriteIntoARecycledSegment(options, out last))
        {
            current = writer.Segments[^1].Path;
        }

        List<(long Offset, GroupHeader Header)> groups = LiveGroups(current);
        Assert.True(groups.Count >= 3, $"the recycled segment should hold several groups of its own, holds {groups.Count}");
        (long offset, GroupHeader hit) = groups[groups.Count / 2];
        byte[] bytes = File.ReadAllBytes(current);
        WriteAt(current, [(byte)(bytes[offset + 17] ^ 0x04)], offset + 17);

        List<long> read = ReadAll(Dir, 0, out JournalReader reader);
        long first = JournalState.ListSegments(Dir, [])[0].FirstSequence;
        long[] expected = [.. Range(first, last).Where(s => s < hit.FirstSequence || s > hit.LastSequence)];
        Assert.True(read.SequenceEqual(expected),
            $"the reader should skip only the damaged group ({hit.FirstSequence}..{hit.LastSequence}) and read on to {last}: read {read.Count} of {expected.Length} records, ending at {(read.Count > 0 ? read[^1] : -1)}");
        Assert.True(reader.Damage.Count == 1 && reader.Damage[0].Offset == offset && reader.LostRecords == hit.Records,
            $"one damage at {offset} costing {hit.Records} records should be reported: {string.Join("; ", reader.Damage)}, lost {reader.LostRecords}");
        JournalCheck.Report report = JournalCheck.Verify(Dir);
        Assert.True(report.Problems.Count == 1 && report.Problems[0].Contains(offset.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal),
            $"verify should name the damage at {offset} and nothing else: {string.Join("; ", report.Problems)}");
    }

    /// <summary>Appends until the journal starts a new segment; returns its path.</summary>
    private static string RollOnce(JournalWriter writer, ref long next)
    {
        string current = writer.Segments[^1].Path;
        long limit = next + 100_000;
        while (writer.Segments[^1].Path == current)
        {
            Append(writer, next, next + 100);
            next += 100;
            Assert.True(next < limit, "a 3 MiB segment should fill within 100 000 records");
        }

        return writer.Segments[^1].Path;
    }

    /// <summary>
    /// Writes with a retention of two segments until the segment being written is a recycled one that
    /// has just started: most of it is still an older segment's groups.
    /// </summary>
    private static JournalWriter WriteIntoARecycledSegment(JournalOptions options, out long last)
    {
        var writer = new JournalWriter(options, JournalState.Recover(options));
        long retention = 2 * options.SegmentBytes;
        writer.Retain(long.MaxValue, retention);
        long next = 0;
        string? previous = null;
        while (true)
        {
            Append(writer, next, next + 100);
            next += 100;
            writer.Retain(long.MaxValue, retention);
            string current = writer.Segments[^1].Path;
            if (previous is not null && current != previous && IsRecycled(current))
            {
                break;
            }

            previous = current;
            Assert.True(next < 300_000, "a recycled segment should be written within 300 000 records of 3 MiB segments");
        }

        Append(writer, next, next + 1000);
        last = next + 999;
        return writer;
    }

    private static bool IsRecycled(string segment)
    {
        byte[] header = new byte[JournalLayout.SegmentHeaderBytes];
        using (FileStream file = File.OpenRead(segment))
        {
            file.ReadExactly(header);
        }

        Assert.True(JournalLayout.TryReadSegmentHeader(header, out _, out _, out uint flags), $"{segment} should have an intact header");
        return (flags & JournalLayout.SegmentRecycled) != 0;
    }

    /// <summary>The segment's own groups: from its header on, each starting above the one before.</summary>
    private static List<(long Offset, GroupHeader Header)> LiveGroups(string segment)
    {
        byte[] bytes = File.ReadAllBytes(segment);
        Assert.True(JournalLayout.TryReadSegmentHeader(bytes, out _, out long first), $"{segment} should have an intact header");
        var groups = new List<(long, GroupHeader)>();
        long previous = first - 1;
        int position = JournalLayout.SegmentHeaderBytes;
        while (JournalLayout.TryReadGroupHeader(bytes.AsSpan(position), out GroupHeader header) && header.FirstSequence > previous)
        {
            groups.Add((position, header));
            previous = header.LastSequence;
            position += JournalLayout.GroupHeaderBytes + header.RecordBytes;
        }

        return groups;
    }

    /// <summary>Where the segment's own groups end, and the offset of the first intact older group after that (-1 when none).</summary>
    private static (long End, long FirstStale) LiveEndAndStaleGroup(string segment)
    {
        List<(long Offset, GroupHeader Header)> groups = LiveGroups(segment);
        long end = groups[^1].Offset + JournalLayout.GroupHeaderBytes + groups[^1].Header.RecordBytes;
        byte[] bytes = File.ReadAllBytes(segment);
        JournalLayout.TryReadSegmentHeader(bytes, out _, out long first);
        for (long at = end; at + JournalLayout.GroupHeaderBytes <= bytes.Length; at += JournalLayout.Alignment)
        {
            if (JournalLayout.TryReadGroupHeader(bytes.AsSpan((int)at), out GroupHeader header) && header.LastSequence < first)
            {
                return (end, at);
            }
        }

        return (end, -1);
    }

    /// <summary>One group of the records [from, to], as the writer would write it.</summary>
    private static byte[] Group(long from, long to)
    {
        var bytes = new byte[1 << 20];
        int used = JournalLayout.GroupHeaderBytes;
        for (long s = from; s <= to; s++)
        {
            used += JournalLayout.WriteRecord(bytes.AsSpan(used), Entry(s), Payload(s));
        }

        JournalLayout.WriteGroupHeader(bytes, (int)(to - from + 1), used - JournalLayout.GroupHeaderBytes, from, to);
        return bytes[..used];
    }

    private static void WriteAt(string path, byte[] bytes, long offset)
    {
        using FileStream file = new(path, FileMode.Open, FileAccess.Write);
        file.Position = offset;
        file.Write(bytes);
    }

    private static IEnumerable<long> Range(long from, long to)
    {
        for (long s = from; s <= to; s++)
        {
            yield return s;
        }
    }
}
