using EventDaemon.Perf.Journal.Format;
using EventDaemon.Perf.Journal.Methods;
using EventDaemon.Perf.Journal.Storage;

namespace EventDaemon.Perf.Journal.Running;

/// <summary>One round of one method: the sync baseline, the paced run, then the three flat-out
/// runs, each on a segment of its own made for it and deleted after it.</summary>
internal static class MethodRunner
{
    public static void RunRound<TMethod>(RunSettings settings, EventCorpus corpus, MethodResult result)
        where TMethod : struct, IWriteMethod<TMethod>
    {
        var baseline = SyncBaseline.Measure(settings.Directory, settings.BaselineSyncs);
        RunResult paced = Once<TMethod>(settings, corpus, settings.PacedSegmentBytes, RunSettings.PacedGroupRecords,
            (run, _) => run.RunPaced(RunSettings.PacedRate, settings.PacedSeconds));
        result.AddPaced(paced, baseline);
        Print(paced, $"paced {RunSettings.PacedRate / 1000}k/s: to durable p50 {Us(paced.Syncer.SinceWrite!.GetValueAtPercentile(50))} " +
            $"p99 {Us(paced.Syncer.SinceWrite!.GetValueAtPercentile(99))} µs, {paced.Syncer.RecordsPerSync:0.0} records/sync; " +
            $"4 KiB fdatasync p50 {Us(baseline.GetValueAtPercentile(50))} p99 {Us(baseline.GetValueAtPercentile(99))} µs");

        foreach (SyncMode mode in (ReadOnlySpan<SyncMode>)[SyncMode.GroupCommit, SyncMode.Never, SyncMode.Inline])
        {
            RunResult run = Once<TMethod>(settings, corpus, settings.FlatSegmentBytes, RunSettings.FlatGroupRecords,
                (commit, file) =>
                {
                    if (file.PreZeroed)
                    {
                        result.ZeroingMegabytesPerSecond = Math.Max(result.ZeroingMegabytesPerSecond, file.Capacity / 1e6 / file.ZeroingSeconds);
                    }

                    return commit.RunFlatOut(mode, settings.FlatSeconds);
                });
            result.AddFlatOut(run);
            string syncs = mode switch
            {
                SyncMode.GroupCommit => $", {run.Syncer.Syncs} syncs, {run.Syncer.RecordsPerSync:0} records/sync",
                SyncMode.Inline => $", {run.Writer.InlineSyncs} syncs",
                _ => "",
            };
            Print(run, $"flat out, {ModeName(mode)}: {run.Writer.RecordsPerSecond / 1e6:0.00} M records/s{syncs}");
        }
    }

    public static string ModeName(SyncMode mode) => mode switch
    {
        SyncMode.GroupCommit => "group commit",
        SyncMode.Never => "no sync",
        _ => $"sync every {RunSettings.InlineSyncRecords}",
    };

    private static RunResult Once<TMethod>(RunSettings settings, EventCorpus corpus, long segmentBytes, int groupRecords,
        Func<GroupCommit<TMethod>, SegmentFile, RunResult> run)
        where TMethod : struct, IWriteMethod<TMethod>
    {
        string path = Path.Combine(settings.Directory, $"{TMethod.Name}.seg");
        using SegmentFile file = TMethod.PreZeroed
            ? SegmentFile.CreateZeroed(path, segmentBytes)
            : SegmentFile.CreateGrowing(path, segmentBytes);
        TMethod method = TMethod.Open(file, groupRecords);
        try
        {
            // Whatever the set-up left behind is collected now, not during the run.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            RunResult result = run(new GroupCommit<TMethod>(method, corpus, segmentBytes), file);
            result.Problem = SegmentVerifier.Verify(file, result.Writer.Bytes, result.Writer.SegmentRecords, corpus);
            return result;
        }
        finally
        {
            method.Close();
        }
    }

    private static void Print(RunResult run, string text) =>
        Console.WriteLine($"  {run.Method,-15} {text}; writer allocated {run.Writer.AllocatedBytes} B; " +
            (run.Problem is null ? $"{run.Writer.SegmentRecords} records read back" : $"READ-BACK FAILED: {run.Problem}"));

    private static string Us(long ns) => (ns / 1000.0).ToString("0", System.Globalization.CultureInfo.InvariantCulture);
}
