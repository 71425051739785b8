namespace EventDaemon.Perf.Journal.Running;

/// <summary>One run of one method in one mode.</summary>
internal sealed record RunResult(string Method, SyncMode Mode, WriterResult Writer, SyncerResult Syncer)
{
    /// <summary>What the segment's read-back found wrong; null when every record checked.</summary>
    public string? Problem { get; set; }
}
