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
