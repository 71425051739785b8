using System.Runtime.InteropServices;
using EventDaemon.LoadGen.Interop;
using HdrHistogram;
using Microsoft.Win32.SafeHandles;

namespace EventDaemon.LoadGen.Measurement;

/// <summary>
/// What one sync of the disk costs, the yardstick of the ack latency: a 4 KiB <c>pwrite</c> into a
/// pre-zeroed file, then <c>fdatasync</c>, the sync alone timed (as perf/EventDaemon.Perf.Journal's
/// baseline does), in ns. Pre-zeroed and synced once before the first measured sync, so that each
/// sync commits data only, never a size change or a block allocation: what the journal's
/// pre-zeroed segments cost.
/// </summary>
internal static class SyncProbe
{
    public const int BlockBytes = 4096;

    /// <summary>Times <paramref name="syncs"/> syncs in a file in <paramref name="directory"/> (the journal's filesystem), deleted after.</summary>
    public static LongHistogram Measure(string directory, int syncs)
    {
        var histogram = new LongHistogram(1, 10_000_000_000, 3);
        string path = Path.Combine(directory, "sync-probe.bin");
        try
        {
            using SafeFileHandle file = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite);
            long size = (long)syncs * BlockBytes;
            byte[] zeros = new byte[1 << 20];
            for (long offset = 0; offset < size; offset += zeros.Length)
            {
                RandomAccess.Write(file, zeros.AsSpan(0, (int)Math.Min(zeros.Length, size - offset)), offset);
            }

            DataSync(file);
            byte[] block = new byte[BlockBytes];
            block.AsSpan().Fill((byte)'x');
            for (int i = 0; i < syncs; i++)
            {
                RandomAccess.Write(file, block, (long)i * BlockBytes);
                long start = Clock.NowNs();
                DataSync(file);
                histogram.RecordValue(Math.Max(1, Clock.NowNs() - start));
            }
        }
        finally
        {
            File.Delete(path);
        }

        return histogram;
    }

    private static void DataSync(SafeFileHandle file)
    {
        if (Libc.fdatasync((int)file.DangerousGetHandle()) != 0)
        {
            throw new IOException($"fdatasync failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }
}
