namespace EventDaemon.Daemon.Journal;

/// <summary>When the journal's writes reach the disk (SPEC §7, <c>fsync</c>).</summary>
public enum JournalFsync
{
    /// <summary>Group commit: a syncer thread runs <c>fdatasync</c> back to back; durable means on disk.</summary>
    Batch,

    /// <summary>
    /// Never synced by the daemon: written means durable against a crash of the daemon (the page cache
    /// outlives the process), not against power loss or a kernel crash.
    /// </summary>
    Never,
}
