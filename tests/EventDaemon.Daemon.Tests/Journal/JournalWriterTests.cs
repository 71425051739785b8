using EventDaemon.Daemon.Journal;
using EventDaemon.Daemon.Tests.Sinks;
using EventDaemon.Tests.Shared;
using Xunit;
using static EventDaemon.Daemon.Tests.Journal.JournalTestSupport;

namespace EventDaemon.Daemon.Tests.Journal;

[Collection(AllocationMeasurements.Name)]
public sealed class JournalWriterTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string Dir => _directory.File("journal");

    [Fact]
    public void Append_AcrossSeveralSegments_ReadsBackEveryRecordInOrder_AndBecomesDurable()
    {
        JournalOptions options = Options(Dir);
        using (var writer = new JournalWriter(options, JournalState.Recover(options)))
        {
            Append(writer, 0, 30_000);
            WaitDurable(writer, 29_999);
            Assert.True(writer.Appended == 30_000, $"appended {writer.Appended} of 30000");
            Assert.True(writer.Syncs.Count > 0, "the syncer never synced");
        }

        string[] files = Directory.GetFiles(Dir, "*.journal");
        Assert.True(files.Length >= 3, $"30 000 records of up to 400 bytes should fill at least 3 segments of 3 MiB, found {files.Length}");
        Assert.True(files.All(f => new FileInfo(f).Length == options.SegmentBytes), "every segment should have its full size, allocated ahead");
        Assert.True(!File.Exists(Path.Combine(Dir, "next.spare")), "closing should remove the spare segment");
        List<long> read = ReadAll(Dir, 0, out JournalReader reader);
        Assert.True(read.SequenceEqual(Enumerable.Range(0, 30_000).Select(i => (long)i)), $"read {read.Count} records back, expected 0..29999 in order");
        Assert.True(reader.Damage.Count == 0 && reader.LostRecords == 0, $"a clean journal reads without damage: {string.Join("; ", reader.Damage)}");
    }

    [Fact]
    public void Append_ALongBatch_IsWrittenInGroupsOfAtMostTheBound_EveryRecordReadable()
    {
        JournalOptions options = Options(Dir);
        const long Records = 2_000;
        int bound;
        using (var writer = new JournalWriter(options, JournalState.Recover(options)))
        {
            bound = writer.GroupBoundBytes;
            // One batch, one flush at its end, as the journal stage does under load: about 450 KB of records.
            Append(writer, 0, Records, perGroup: int.MaxValue);
            WaitDurable(writer, Records - 1);
            Assert.True(writer.WrittenSequence == Records - 1, $"the groups written before the flush and the one at it should reach {Records - 1}, written {writer.WrittenSequence}");
        }

        Assert.True(bound == JournalWriter.GroupTargetBytes, $"1 KiB events should leave the group bound at {JournalWriter.GroupTargetBytes} bytes, it is {bound}");
        List<(int Bytes, GroupHeader Header)> groups = Groups(Directory.GetFiles(Dir, "*.journal").Single());
        long recordBytes = 0;
        for (long s = 0; s < Records; s++)
        {
            recordBytes += JournalLayout.RecordBytes(Payload(s).Length);
        }

        Assert.True(groups.Count > recordBytes / bound, $"{recordBytes} bytes of records in one batch should take more than {recordBytes / bound} groups of at most {bound} bytes, found {groups.Count}");
        Assert.True(groups.All(g => g.Bytes <= bound), $"every group should hold at most {bound} bytes, header included: {string.Join(", ", groups.Select(g => g.Bytes))}");
        for (int i = 0; i + 1 < groups.Count; i++)
        {
            // A group is written only when the next record would not fit: the one that starts the next group.
            int next = JournalLayout.RecordBytes(Payload(groups[i + 1].Header.FirstSequence).Length);
            Assert.True(groups[i].Bytes + next > bound, $"group {i} ({groups[i].Bytes} bytes) was written while record {groups[i + 1].Header.FirstSequence} ({next} bytes) still fitted under {bound}");
            Assert.True(groups[i + 1].Header.FirstSequence == groups[i].Header.LastSequence + 1, $"group {i + 1} should start right after group {i}: {groups[i].Header.LastSequence} then {groups[i + 1].Header.FirstSequence}");
        }

        // Every record, read through its CRC, holds the bytes appended.
        List<long> read = ReadAll(Dir, 0, out JournalReader reader);
        Assert.True(read.SequenceEqual(Enumerable.Range(0, (int)Records).Select(i => (long)i)), $"read {read.Count} records back, expected 0..{Records - 1} in order");
        Assert.True(reader.Damage.Count == 0 && reader.LostRecords == 0, $"groups split at the bound read without damage: {string.Join("; ", reader.Damage)}");
    }

    [Fact]
    public void Append_WhenTheWriteAtTheBoundFails_KeepsTheRecordsPastIt_AndTheNextFlushWritesThemAll()
    {
        JournalOptions options = Options(Dir);
        using (var writer = new JournalWriter(options, JournalState.Recover(options)))
        {
            Append(writer, 0, 10);
            writer.FailNextWritesForTest(1);
            long next = 10;
            long bytes = 0;
            while (bytes < 3L * writer.GroupBoundBytes)
            {
                // What the journal stage does mid-batch: a false here would make it wait on whatever thread runs it.
                Assert.True(writer.TryAppend(Entry(next), Payload(next)), $"record {next} was refused though the buffer had room past the bound");
                bytes += JournalLayout.RecordBytes(Payload(next).Length);
                next++;
            }

            Assert.True(writer.WrittenSequence == 9, $"after the write at the bound failed, no other should be tried before the batch's flush: written {writer.WrittenSequence}");
            Assert.True(writer.Problem is not null, "the failed write should be reported");
            Assert.True(writer.Flush(), $"the flush at the batch's end should write the group: {writer.Problem}");
            Assert.True(writer.WrittenSequence == next - 1, $"the flush should write every record kept past the bound: written {writer.WrittenSequence}, appended up to {next - 1}");
            Append(writer, next, next + 2_000, perGroup: int.MaxValue);
            WaitDurable(writer, next + 1_999);
            Assert.True(Groups(Directory.GetFiles(Dir, "*.journal").Single()).Skip(2).All(g => g.Bytes <= writer.GroupBoundBytes), "once a write succeeded, groups should keep to the bound again");
        }

        List<long> read = ReadAll(Dir, 0, out JournalReader reader);
        Assert.True(read.Count == read[^1] + 1 && read.SequenceEqual(Enumerable.Range(0, read.Count).Select(i => (long)i)), $"every record should read back in order, read {read.Count}");
        Assert.True(reader.Damage.Count == 0 && reader.LostRecords == 0, $"an oversized group reads without damage: {string.Join("; ", reader.Damage)}");
    }

    /// <summary>The groups of one segment, in order, with the bytes each takes (header included).</summary>
    private static List<(int Bytes, GroupHeader Header)> Groups(string segment)
    {
        byte[] bytes = File.ReadAllBytes(segment);
        var groups = new List<(int, GroupHeader)>();
        int at = JournalLayout.SegmentHeaderBytes;
        while (at + JournalLayout.GroupHeaderBytes <= bytes.Length && JournalLayout.TryReadGroupHeader(bytes.AsSpan(at), out GroupHeader header))
        {
            int size = JournalLayout.GroupHeaderBytes + header.RecordBytes;
            groups.Add((size, header));
            at += size;
        }

        return groups;
    }

    [Fact]
    public void SegmentNames_AreTheirFirstSequence()
    {
        JournalOptions options = Options(Dir);
        using (var writer = new JournalWriter(options, JournalState.Recover(options)))
        {
            Append(writer, 1000, 20_000);
        }

        var damage = new List<JournalDamage>();
        foreach (JournalSegment segment in JournalState.ListSegments(Dir, damage))
        {
            Assert.True(Path.GetFileName(segment.Path) == JournalLayout.SegmentName(segment.FirstSequence),
                $"{Path.GetFileName(segment.Path)} should be named after its first sequence {segment.FirstSequence}");
        }

        Assert.True(JournalState.ListSegments(Dir, damage)[0].FirstSequence == 1000, "the first segment starts at the first sequence appended");
    }

    [Fact]
    public void Reopen_AfterTheWriterDiedWithoutClosing_ContinuesAfterTheLastRecord()
    {
        JournalOptions options = Options(Dir);
        var first = new JournalWriter(options, JournalState.Recover(options));
        Append(first, 0, 5_000);
        // No Close: what was written is in the page cache, as after a kill -9. Dispose only frees the lock.
        first.Dispose();

        JournalState state = JournalState.Recover(options);
        Assert.True(state.LastSequence == 4_999, $"recovery found last sequence {state.LastSequence}, expected 4999");
        Assert.True(state.TornBytes == 0, $"nothing was torn, yet {state.TornBytes} bytes were zeroed");
        using (var second = new JournalWriter(options, state))
        {
            Append(second, 5_000, 8_000);
        }

        List<long> read = ReadAll(Dir, 0, out JournalReader reader);
        Assert.True(read.SequenceEqual(Enumerable.Range(0, 8_000).Select(i => (long)i)), $"read {read.Count} records, expected 0..7999 in order");
        Assert.True(reader.Damage.Count == 0, $"no damage expected: {string.Join("; ", reader.Damage)}");
    }

    [Fact]
    public void Recover_TornFinalWrite_IsZeroed_AndTheJournalContinuesCleanly()
    {
        JournalOptions options = Options(Dir);
        using (var writer = new JournalWriter(options, JournalState.Recover(options)))
        {
            Append(writer, 0, 2_000, perGroup: 100);
        }

        JournalState whole = JournalState.Recover(options);
        (string tail, long end) = whole.Tail!.Value;
        whole.Release();
        // What a power cut in the middle of the last write leaves: its header and first records on
        // disk, the rest not. Those first records read intact, but the write was never synced, so
        // never acknowledged: it goes whole.
        long lastGroup = end - JournalLayout.GroupHeaderBytes - Enumerable.Range(1_900, 100).Sum(s => JournalLayout.RecordBytes(Payload(s).Length));
        long cut = lastGroup + JournalLayout.GroupHeaderBytes + Enumerable.Range(1_900, 40).Sum(s => JournalLayout.RecordBytes(Payload(s).Length)) + 20;
        using (var file = new FileStream(tail, FileMode.Open, FileAccess.Write))
        {
            file.Position = cut;
            file.Write(new byte[end - cut]);
        }

        JournalState state = JournalState.Recover(options);
        Assert.True(state.LastSequence == 1_899, $"the torn write must not count: last sequence {state.LastSequence}, expected 1899");
        Assert.True(state.TornBytes == end - lastGroup, $"the torn write's {end - lastGroup} bytes should be zeroed, zeroed {state.TornBytes}");
        Assert.True(state.Tail!.Value.Position == lastGroup, $"the next write should go where the torn one began ({lastGroup}), not {state.Tail.Value.Position}");
        using (var writer = new JournalWriter(options, state))
        {
            Append(writer, 1_900, 1_910, perGroup: 1);
        }

        List<long> read = ReadAll(Dir, 0, out JournalReader reader);
        Assert.True(read.SequenceEqual(Enumerable.Range(0, 1_910).Select(i => (long)i)), $"read {read.Count} records, expected 0..1909");
        Assert.True(reader.Damage.Count == 0, $"after the repair nothing is damaged: {string.Join("; ", reader.Damage)}");
    }

    [Fact]
    public void Read_FlippedBitInARecord_SkipsTheRestOfItsGroup_CountsThemLost_AndReadsOn()
    {
        JournalOptions options = Options(Dir);
        using (var writer = new JournalWriter(options, JournalState.Recover(options)))
        {
            Append(writer, 0, 1_000, perGroup: 100);
        }

        string segment = Directory.GetFiles(Dir, "*.journal").Single();
        // The fifth record of the third group: 2 groups of 100 records, then a group header, then 4 records.
        long offset = JournalLayout.SegmentHeaderBytes;
        for (int g = 0; g < 2; g++)
        {
            offset += JournalLayout.GroupHeaderBytes + Enumerable.Range(g * 100, 100).Sum(s => JournalLayout.RecordBytes(Payload(s).Length));
        }

        offset += JournalLayout.GroupHeaderBytes + Enumerable.Range(200, 4).Sum(s => JournalLayout.RecordBytes(Payload(s).Length));
        FlipBit(segment, offset + JournalLayout.RecordHeaderBytes + 3);

        List<long> read = ReadAll(Dir, 0, out JournalReader reader);
        long[] expected = [.. Enumerable.Range(0, 204).Select(i => (long)i), .. Enumerable.Range(300, 700).Select(i => (long)i)];
        Assert.True(read.SequenceEqual(expected), $"expected 0..203 and 300..999, read {read.Count} records");
        Assert.True(reader.LostRecords == 96, $"records 204..299 are lost: counted {reader.LostRecords}");
        JournalDamage damage = Assert.Single(reader.Damage);
        Assert.True(damage.Offset == offset && damage.What.Contains("CRC", StringComparison.Ordinal), $"the damage should name offset {offset} and the CRC: {damage}");
    }

    [Fact]
    public void Read_DamagedGroupHeader_ResynchronisesOnTheNextGroup()
    {
        JournalOptions options = Options(Dir);
        using (var writer = new JournalWriter(options, JournalState.Recover(options)))
        {
            Append(writer, 0, 500, perGroup: 100);
        }

        string segment = Directory.GetFiles(Dir, "*.journal").Single();
        long second = JournalLayout.SegmentHeaderBytes + JournalLayout.GroupHeaderBytes
            + Enumerable.Range(0, 100).Sum(s => JournalLayout.RecordBytes(Payload(s).Length));
        FlipBit(segment, second + 17);

        List<long> read = ReadAll(Dir, 0, out JournalReader reader);
        long[] expected = [.. Enumerable.Range(0, 100).Select(i => (long)i), .. Enumerable.Range(200, 300).Select(i => (long)i)];
        Assert.True(read.SequenceEqual(expected), $"expected 0..99 and 200..499, read {read.Count} records");
        Assert.True(reader.LostRecords == 100, $"the second group's 100 records are lost: counted {reader.LostRecords}");
        Assert.True(reader.Damage.Single().Offset == second, $"the damage is where the second group begins ({second}): {string.Join("; ", reader.Damage)}");
    }

    [Fact]
    public void Recover_WhileAWriterHoldsTheJournal_IsRefusedInOneLine()
    {
        JournalOptions options = Options(Dir);
        using var writer = new JournalWriter(options, JournalState.Recover(options));
        JournalException refused = Assert.Throws<JournalException>(() => JournalState.Recover(options));
        Assert.True(refused.Message.Contains("in use", StringComparison.Ordinal) && !refused.Message.Contains('\n'),
            $"a second opener should be told the journal is in use, in one line: {refused.Message}");
    }

    [Fact]
    public void FsyncNever_DurableAsSoonAsWritten_WithoutASyncer()
    {
        JournalOptions options = Options(Dir, JournalFsync.Never);
        using var writer = new JournalWriter(options, JournalState.Recover(options));
        Append(writer, 0, 10);
        Assert.True(writer.DurableSequence == 9 && writer.WrittenSequence == 9, $"written {writer.WrittenSequence}, durable {writer.DurableSequence}");
        Assert.True(writer.Syncs.Count == 0, "fsync = never must not sync");
    }

    [Fact]
    public void FsyncNever_TellsEachDurableMove_AsTheSyncerWould()
    {
        JournalOptions options = Options(Dir, JournalFsync.Never);
        using var writer = new JournalWriter(options, JournalState.Recover(options));
        long told = -1;
        writer.OnDurable = () => told = writer.DurableSequence;
        Append(writer, 0, 10);
        Assert.True(told == 9, $"the last durable move told was to {told}, not 9: waiting acks would wait for the connection's next read");
    }

    [Fact]
    public void Append_SteadyState_AllocatesNothing()
    {
        JournalOptions options = Options(Dir);
        using var writer = new JournalWriter(options, JournalState.Recover(options));
        byte[][] payloads = [.. Enumerable.Range(0, 64).Select(i => Payload(i))];
        // The first write starts the first segment; after that, 2 000 groups stay inside it.
        Append(writer, 0, 100);
        using var gc = CollectionWatch.Start();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (long s = 100; s < 10_100; s++)
        {
            writer.TryAppend(Entry(s), payloads[s % 64]);
            if (s % 5 == 0)
            {
                writer.Flush();
            }
        }

        writer.Flush();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"10 000 appends in 2 000 writes allocated {allocated} bytes on the appending thread");
        Assert.True(gc.Collections == 0, $"no collection should run while appending: {gc.Describe()}");
        Assert.True(writer.WrittenSequence == 10_099, $"everything should be written: {writer.WrittenSequence}");
    }

    [Fact]
    public void Retain_DeletesOnlyOldSegmentsEverySinkHasPassed_BeyondTheRetention()
    {
        JournalOptions options = Options(Dir);
        using var writer = new JournalWriter(options, JournalState.Recover(options));
        Append(writer, 0, 60_000);
        IReadOnlyList<JournalSegment> segments = writer.Segments;
        Assert.True(segments.Count >= 5, $"60 000 records should fill at least 5 segments, filled {segments.Count}");

        // Nothing delivered: nothing may go, however much is kept.
        Assert.True(writer.Retain(deliveredSequence: -1, retentionBytes: 0) == 0, "no segment may be deleted before any sink delivered it");

        // Delivered up to the middle of the third segment: the first two may go, not the third. What
        // the calls return is not asserted: the preparer applies the same retention when it wakes for
        // a recycled segment, and may let some of the segments go itself (then their files go a moment
        // after the call returns: the conditions are waited for).
        long delivered = segments[2].FirstSequence + 10;
        writer.Retain(delivered, retentionBytes: 0);
        Integration.Support.Eventually.True(() => !File.Exists(segments[0].Path) && !File.Exists(segments[1].Path) && File.Exists(segments[2].Path)
            && writer.Segments[0].Path == segments[2].Path,
            () => "the two oldest files should be gone and the third kept");

        // Everything delivered, but the retention keeps 3 segments' worth, and the current one always stays.
        writer.Retain(long.MaxValue, retentionBytes: 3 * options.SegmentBytes);
        Integration.Support.Eventually.True(() => writer.Segments.Count == 3 && writer.Segments[^1].Path == segments[^1].Path
            && segments.SkipLast(3).All(s => !File.Exists(s.Path)),
            () => $"retention should keep the 3 newest segments: kept {writer.Segments.Count}");
        writer.Retain(long.MaxValue, retentionBytes: 0);
        Integration.Support.Eventually.True(() => writer.Segments.Count == 1 && writer.Segments[0].Path == segments[^1].Path
            && segments.SkipLast(1).All(s => !File.Exists(s.Path)),
            () => "with no retention, everything but the segment being written goes");
        List<long> read = ReadAll(Dir, 0, out JournalReader reader);
        Assert.True(read.Count > 0 && read[^1] == 59_999 && reader.Damage.Count == 0, $"what remains reads clean up to the last record: {read.Count} records");
    }
}
