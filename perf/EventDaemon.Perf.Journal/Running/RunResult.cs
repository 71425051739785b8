using HdrHistogram;

namespace EventDaemon.Perf.Journal.Running;

/// <summary>What the writer thread did in one run.</summary>
/// <param name="Records">Records written while the clock ran (the first, warm-up group excluded when flat out).</param>
/// <param name="Bytes">Segment bytes written, group headers included (the warm-up group too).</param>
/// <param name="SegmentRecords">Records in the segment, the warm-up group included.</param>
/// <param name="ElapsedNs">Time the writer's loop ran.</param>
/// <param name="AllocatedBytes">Managed bytes the writer thread allocated in its loop: must be 0.</param>
/// <param name="Stalls">Times a paced writer found the stamp ring full and waited for the syncer.</param>
/// <param name="InlineSyncs">Syncs the writer made itself (<see cref="SyncMode.Inline"/>).</param>
internal readonly record struct WriterResult(long Records, long Bytes, long SegmentRecords, long ElapsedNs, long AllocatedBytes, long Stalls, long InlineSyncs)
{
    public double RecordsPerSecond => ElapsedNs == 0 ? 0 : Records * 1e9 / ElapsedNs;
}

/// <summary>What the syncer thread did in one run (all zero and null when there was none).</summary>
/// <param name="SinceWrite">Per record: durable time − the write time stamped on its group (paced runs only).</param>
/// <param name="SinceArrival">Per record: durable time − when its event was due to arrive on the paced schedule.</param>
internal readonly record struct SyncerResult(long Syncs, long Records, long AllocatedBytes, LongHistogram? SyncTimes,
    LongHistogram? SinceWrite, LongHistogram? SinceArrival)
{
    public double RecordsPerSync => Syncs == 0 ? 0 : (double)Records / Syncs;
}

/// <param name="Problem">What the segment's read-back found wrong; null when every record checked.</param>
internal sealed record RunResult(string Method, SyncMode Mode, WriterResult Writer, SyncerResult Syncer)
{
    public string? Problem { get; set; }
}
