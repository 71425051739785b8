using EventDaemon.Daemon.Journal;

namespace EventDaemon.Daemon.Config.Internal;

/// <summary>Binds <c>[journal]</c>; an absent table means no journal.</summary>
internal static class JournalBinder
{
    public const string Table = "journal";

    public static readonly string[] Keys = ["dir", "segment_bytes", "retention_bytes", "fsync", "when_full"];

    public static readonly Choices<JournalFsync> FsyncChoices = new(
        ("batch", JournalFsync.Batch),
        ("never", JournalFsync.Never));

    public static readonly Choices<JournalWhenFull> WhenFullChoices = new(
        ("block", JournalWhenFull.Block),
        ("drop_oldest", JournalWhenFull.DropOldest));

    /// <summary>Segments larger than this cannot be zeroed ahead of use in any reasonable time.</summary>
    private static readonly ByteSize MaxSegment = new(64 * ByteSize.GiB);

    /// <param name="daemon">The bound <c>[daemon]</c> table (state_dir, max_event_bytes); null when it had errors.</param>
    public static JournalSettings? Bind(TomlTable? table, DaemonSettings? daemon, BindContext context)
    {
        if (table is null)
        {
            return null;
        }

        int errorsBefore = context.Diagnostics.ErrorCount;
        var reader = new TableReader(context, table, "[journal]");
        string dir = reader.Text("dir") ?? JournalSettings.DefaultDirectory;
        ByteSize segment = reader.Size("segment_bytes", new ByteSize(JournalLayout.MinSegmentBytes), MaxSegment) ?? JournalSettings.DefaultSegmentBytes;
        ByteSize retention = reader.Size("retention_bytes", new ByteSize(0), new ByteSize(long.MaxValue)) ?? JournalSettings.DefaultRetentionBytes;
        JournalFsync fsync = reader.Choice("fsync", FsyncChoices) ?? JournalFsync.Batch;
        JournalWhenFull whenFull = reader.Choice("when_full", WhenFullChoices) ?? JournalWhenFull.Block;
        reader.ReportUnknownKeys();
        if (context.Diagnostics.ErrorCount != errorsBefore || daemon is null)
        {
            return null;
        }

        ConfigPosition at = reader.Entry("dir")?.Value.Position ?? table.Position;
        if (dir.Length == 0)
        {
            context.Error(at, "dir: the journal's directory cannot be empty (default \"journal\", under state_dir)");
            return null;
        }

        // Relative to state_dir, not to the config file: the journal lives with the daemon's other state.
        string directory = Path.GetFullPath(Path.Combine(daemon.StateDir, dir));
        var settings = new JournalSettings(directory, segment, retention, fsync, whenFull);
        if (settings.Options(daemon.MaxEventBytes).Problem() is { } problem)
        {
            context.Error(reader.Entry("segment_bytes")?.Value.Position ?? table.Position, $"{problem} (max_event_bytes is {daemon.MaxEventBytes}), found {segment}");
            return null;
        }

        if (context.CheckMachine)
        {
            MachineChecks.JournalDirectory(context, directory, at);
        }

        return context.Diagnostics.ErrorCount == errorsBefore ? settings : null;
    }
}
