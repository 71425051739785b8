namespace EventDaemon.Daemon.Journal;

/// <summary>What a journal needs to open: where, how big its segments are, and when it syncs.</summary>
/// <param name="Directory">The journal's own directory; created if missing.</param>
/// <param name="SegmentBytes">Size of every segment file, allocated and zeroed before its first write.</param>
/// <param name="Fsync">When writes become durable.</param>
/// <param name="MaxEventBytes">The largest event a source accepts: one group must hold one such record.</param>
public sealed record JournalOptions(string Directory, long SegmentBytes, JournalFsync Fsync, int MaxEventBytes)
{
    /// <summary>Bytes one write (one group) may hold: large enough that a busy writer makes few system calls.</summary>
    public int GroupBufferBytes =>
        Math.Max(1 << 20, JournalLayout.GroupHeaderBytes + JournalLayout.RecordBytes(MaxEventBytes));

    /// <summary>Why these options cannot work, or null.</summary>
    public string? Problem()
    {
        long least = Math.Max(JournalLayout.MinSegmentBytes, JournalLayout.SegmentHeaderBytes + (2L * GroupBufferBytes));
        if (SegmentBytes < least)
        {
            return $"segment_bytes must be at least {least} bytes (two writes of the largest event)";
        }

        return SegmentBytes % 4096 != 0 ? "segment_bytes must be a multiple of 4096" : null;
    }
}
