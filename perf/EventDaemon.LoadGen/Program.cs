using HdrHistogram;

namespace EventDaemon.LoadGen;

public static class Program
{
    public static int Main()
    {
        var h = new LongHistogram(60_000_000_000L, 3);
        for (int i = 1; i < 1000; i++)
        {
            h.RecordValue(i * 1000);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 1; i < 100000; i++)
        {
            h.RecordValue(i * 17);
        }

        long used = GC.GetAllocatedBytesForCurrentThread() - before;
        Console.WriteLine($"alloc {used} p99 {h.GetValueAtPercentile(99)}");
        h.OutputPercentileDistribution(Console.Out, 5, 1000.0);
        return 0;
    }
}
