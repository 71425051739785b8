namespace EventDaemon.Perf.Journal.Running;

/// <summary>How a run makes its records durable.</summary>
internal enum SyncMode
{
    /// <summary>A syncer thread runs one sync after another while the writer carries on (SPEC §7, <c>fsync = "batch"</c>).</summary>
    GroupCommit,

    /// <summary>No sync at all (<c>fsync = "never"</c>): page cache only.</summary>
    Never,

    /// <summary>The writer syncs itself after every <see cref="RunSettings.InlineSyncRecords"/> records and waits for it.</summary>
    Inline,
}
