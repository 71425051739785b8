using System.Text;
using EventDaemon.Events.BadInput;
using Xunit;

namespace EventDaemon.Events.Tests.BadInput;

public class BadInputLogTests
{
    [Fact]
    public void Record_KeepsOnlyTheLastCapacityRecordsOldestFirst()
    {
        var log = new BadInputLog(capacity: 4);
        for (int i = 0; i < 10; i++)
        {
            log.Record(i, (ushort)(i % 2), InvalidReason.NotJson, Encoding.ASCII.GetBytes($"line {i}"));
        }

        BadInputRecord[] records = log.Snapshot();
        Assert.True(records.Length == 4, $"capacity 4 should keep 4 records, got {records.Length}");
        Assert.True(records.Select(r => r.UnixNanos).SequenceEqual([6L, 7, 8, 9]), $"the newest four, oldest first, expected; got [{string.Join(",", records.Select(r => r.UnixNanos))}]");
        Assert.True(records.Select(r => r.Sequence).SequenceEqual([7L, 8, 9, 10]), "sequence numbers reveal how many were overwritten");
        Assert.True(Encoding.ASCII.GetString(records[^1].Excerpt) == "line 9", "excerpt should hold the input bytes");
        Assert.True(log.TotalRecorded == 10, $"TotalRecorded should count every record, got {log.TotalRecorded}");
    }

    [Fact]
    public void Record_LongInput_KeepsA64ByteExcerptAndTheFullLength()
    {
        var log = new BadInputLog();
        byte[] input = Encoding.ASCII.GetBytes(new string('a', 64) + new string('b', 100));
        log.Record(0, 1, InvalidReason.BadValue, input);
        BadInputRecord r = log.Snapshot()[0];
        Assert.True(r.Excerpt.Length == BadInputLog.ExcerptBytes && r.Excerpt.All(b => b == 'a'), "excerpt must be the first 64 bytes");
        Assert.True(r.InputLength == input.Length, $"input length should be {input.Length}, got {r.InputLength}");
    }

    [Fact]
    public void Format_PrintsOneSafeLinePerRecordWithSourceAndLabel()
    {
        var log = new BadInputLog();
        log.Record(1_764_151_200_123_000_000, 0, InvalidReason.BadTs, "{\"ts\":\"x\"}\u0001"u8);
        log.RecordFrameError(1_764_151_201_000_000_000, 1, FrameError.UnsupportedVersion, [0x21, 0, 0, 0, 9]);
        log.Record(1_764_151_202_000_000_000, 0, InvalidReason.Oversized, new byte[100]);

        string text = log.Format(id => id == 0 ? "in" : "bin");
        string[] lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.True(lines.Length == 3, $"three lines expected, got:\n{text}");
        Assert.True(lines[0] == "2025-11-26T10:00:00.123Z source=in reason=bad_ts bytes=11 excerpt=\"{\\\"ts\\\":\\\"x\\\"}\\x01\"", $"unexpected first line: {lines[0]}");
        Assert.True(lines[1].Contains("source=bin reason=unsupported_version bytes=5 excerpt=\"!\\x00\\x00\\x00\\x09\"", StringComparison.Ordinal), $"unexpected frame error line: {lines[1]}");
        Assert.True(lines[2].EndsWith("...", StringComparison.Ordinal) && lines[2].Contains("reason=oversized bytes=100", StringComparison.Ordinal), $"a cut excerpt should end with ...: {lines[2]}");
    }

    [Fact]
    public void Record_FromManyThreads_KeepsEveryRecordConsistent()
    {
        var log = new BadInputLog(capacity: 16);
        const int PerThread = 10_000;
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            byte[] input = Encoding.ASCII.GetBytes(new string((char)('a' + t), 10 + t));
            for (int i = 0; i < PerThread; i++)
            {
                log.Record(i, (ushort)t, InvalidReason.NotJson, input);
            }
        })).ToArray();
        foreach (Thread t in threads)
        {
            t.Start();
        }

        foreach (Thread t in threads)
        {
            t.Join();
        }

        Assert.True(log.TotalRecorded == 4 * PerThread, $"every record should be counted, got {log.TotalRecorded}");
        foreach (BadInputRecord r in log.Snapshot())
        {
            Assert.True(r.InputLength == 10 + r.SourceId && r.Excerpt.All(b => b == 'a' + r.SourceId), $"record from source {r.SourceId} mixed with another thread's bytes");
        }
    }

    [Fact]
    public void Record_InSteadyState_AllocatesNothing()
    {
        var log = new BadInputLog();
        byte[] input = new byte[200];
        log.Record(0, 0, InvalidReason.NotJson, input);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100_000; i++)
        {
            log.Record(i, 0, InvalidReason.NotJson, input);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"recording bad input allocated {allocated} bytes; the write side must not allocate");
    }

    [Fact]
    public void FrameErrorLabels_AreStable()
    {
        string[] expected = ["none", "bad_length", "frame_too_large", "unsupported_version", "reserved_bits_set", "length_mismatch", "inconsistent_flags", "truncated"];
        Assert.True(expected.Length == FrameErrors.Count, "FrameErrors.Count should match the label table");
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(((FrameError)i).Label() == expected[i], $"label of {(FrameError)i} changed: '{((FrameError)i).Label()}' (labels are a contract)");
        }
    }
}
