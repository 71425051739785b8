using EventDaemon.Perf.Journal.Internal;
using EventDaemon.Perf.Journal.Storage;
using HdrHistogram;

namespace EventDaemon.Perf.Journal.Running;

/// <summary>
/// The yardstick every time-to-durable is divided by: a bare <c>fdatasync</c> after a 4 KiB
/// <c>pwrite</c> into a pre-zeroed file, timed alone (the write is not counted), measured in the
/// same run just before each method's paced run because this disk's sync time drifts by 2× over
/// minutes.
/// </summary>
internal static class SyncBaseline
{
    private const int BlockBytes = 4096;

    public static LongHistogram Measure(string directory, int syncs)
    {
        var histogram = new LongHistogram(10_000_000_000, 3);
        string path = Path.Combine(directory, "baseline.seg");
        using SegmentFile file = SegmentFile.CreateZeroed(path, (long)syncs * BlockBytes);
        var block = new byte[BlockBytes];
        block.AsSpan().Fill((byte)'x');
        for (int i = 0; i < syncs; i++)
        {
            file.Write(block, (long)i * BlockBytes);
            long start = Clock.NowNs();
            file.DataSync();
            histogram.RecordValue(Math.Max(1, Clock.NowNs() - start));
        }

        return histogram;
    }
}
