using HdrHistogram;

namespace EventDaemon.Perf.Journal.Running;

/// <summary>What the syncer thread did in one run (all zero and null when there was none).</summary>
/// <param name="SinceWrite">Per record: durable time − the write time stamped on its group (paced runs only).</param>
/// <param name="SinceArrival">Per record: durable time − when its event was due to arrive on the paced schedule.</param>
internal readonly record struct SyncerResult(long Syncs, long Records, long AllocatedBytes, LongHistogram? SyncTimes,
    LongHistogram? SinceWrite, LongHistogram? SinceArrival)
{
    public double RecordsPerSync => Syncs == 0 ? 0 : (double)Records / Syncs;
}
