using EventDaemon.Daemon.Interop;
using EventDaemon.Daemon.Journal.Internal;

namespace EventDaemon.Daemon.Journal;

/// <summary>
/// <c>eventd journal verify</c> and <c>repair</c>: reads every segment the way a replay would and
/// says what is wrong (read-only), or rewrites each damaged segment keeping every intact record.
/// </summary>
public static class JournalCheck
{
    /// <summary>What a verification or a repair found.</summary>
    /// <param name="Problems">One line each, naming segment and offset; empty when the journal is intact.</param>
    /// <param name="Notes">Findings that are not damage (a torn final write, zeroed at the next start).</param>
    public sealed record Report(int Segments, long Records, long LostRecords, List<string> Problems, List<string> Notes);

    /// <summary>Reads the whole journal without changing it.</summary>
    public static Report Verify(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return new Report(0, 0, 0, [$"{directory}: no journal here (the directory does not exist)"], []);
        }

        var damage = new List<JournalDamage>();
        List<JournalSegment> segments = JournalState.ListSegments(directory, damage);
        var problems = damage.Select(d => d.ToString()).ToList();
        var notes = new List<string>();
        using var reader = new JournalReader(segments, 0);
        long records = 0;
        long previous = -1;
        while (reader.TryRead(out JournalEntry entry, out _))
        {
            if (entry.Sequence <= previous)
            {
                problems.Add($"sequence {entry.Sequence} follows {previous}: records out of order");
            }

            previous = entry.Sequence;
            records++;
        }

        JournalTail? tail = reader.Tail;
        foreach (JournalDamage d in reader.Damage)
        {
            if (tail is { } t && d.Segment == t.Segment && d.Offset >= t.End)
            {
                notes.Add($"{System.IO.Path.GetFileName(d.Segment)}: a torn final write at offset {d.Offset} ({t.DirtyEnd - t.End} bytes), never acknowledged; zeroed at the next start");
                continue;
            }

            problems.Add(d.ToString());
        }

        if (reader.LostRecords > 0 && reader.Damage.Count == 0 && damage.Count == 0)
        {
            problems.Add($"{reader.LostRecords} records missing between sequences (a segment file is missing?)");
        }

        if (reader.RepairedGaps > 0)
        {
            notes.Add($"{reader.RepairedGaps} records were removed by an earlier repair");
        }

        return new Report(segments.Count, records, reader.LostRecords, problems, notes);
    }

    /// <summary>
    /// Rewrites every damaged segment through a temporary file (intact records only, regrouped), then
    /// renames it over the original and syncs the directory; a segment whose header is damaged is
    /// renamed aside (<c>.damaged</c>), never deleted. Refused while a daemon holds the journal.
    /// </summary>
    public static Report Repair(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return new Report(0, 0, 0, [$"{directory}: no journal here (the directory does not exist)"], []);
        }

        int lockFd = JournalState.LockDirectory(directory);
        try
        {
            var damage = new List<JournalDamage>();
            List<JournalSegment> segments = JournalState.ListSegments(directory, damage);
            var notes = new List<string>();
            foreach (JournalDamage d in damage)
            {
                File.Move(d.Segment, d.Segment + ".damaged", overwrite: true);
                notes.Add($"{System.IO.Path.GetFileName(d.Segment)}: {d.What}; set aside as {System.IO.Path.GetFileName(d.Segment)}.damaged");
            }

            long records = 0;
            long lost = 0;
            bool gapBefore = false;
            for (int i = 0; i < segments.Count; i++)
            {
                JournalSegment segment = segments[i];
                (long kept, long dropped, bool rewritten, long lastKept) = RepairSegment(segment, gapBefore);
                // Records lost at a segment's end (damage up to its end, a truncated file, a missing
                // segment) leave a gap before the next segment's first record: that segment's first
                // group says so, or every later read would report the gap again.
                gapBefore = i + 1 < segments.Count && lastKept < segments[i + 1].FirstSequence - 1;
                if (gapBefore)
                {
                    dropped += segments[i + 1].FirstSequence - 1 - lastKept;
                }

                records += kept;
                lost += dropped;
                if (rewritten)
                {
                    notes.Add($"{System.IO.Path.GetFileName(segment.Path)}: rewritten with its {kept} intact records ({dropped} lost)");
                }
            }

            if (Libc.fsync(lockFd) != 0)
            {
                return new Report(segments.Count, records, lost, [$"{directory}: cannot sync the directory: {JournalWriter.Errno(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}"], notes);
            }

            return new Report(segments.Count, records, lost, [], notes);
        }
        finally
        {
            Libc.close(lockFd);
        }
    }

    /// <param name="gapBefore">Records before this segment's first were lost: its first group is
    /// flagged, and the segment rewritten for that even when it is intact.</param>
    private static (long Kept, long Lost, bool Rewritten, long LastKept) RepairSegment(JournalSegment segment, bool gapBefore)
    {
        long segmentBytes;
        using (SegmentReader? header = SegmentReader.Open(segment.Path, out _))
        {
            segmentBytes = header!.SegmentBytes;
        }

        using var reader = new JournalReader([segment], 0);
        var intact = new List<(JournalEntry Entry, byte[] Payload)>();
        while (reader.TryRead(out JournalEntry entry, out ReadOnlySpan<byte> payload))
        {
            intact.Add((entry, payload.ToArray()));
        }

        long lastKept = intact.Count > 0 ? intact[^1].Entry.Sequence : segment.FirstSequence - 1;
        if (reader.Damage.Count == 0 && !gapBefore)
        {
            return (intact.Count, 0, false, lastKept);
        }

        string temporary = segment.Path + ".repair";
        SegmentFile file = SegmentFile.Open(temporary, create: true, out int errno);
        if (!file.IsOpen)
        {
            throw new JournalException($"journal repair: cannot create {temporary}: {JournalWriter.Errno(errno)}");
        }

        try
        {
            byte[] buffer = new byte[1 << 20];
            errno = file.WriteZeros(0, segmentBytes);
            JournalLayout.WriteSegmentHeader(buffer, segmentBytes, segment.FirstSequence);
            errno = errno != 0 ? errno : file.WriteAt(buffer.AsSpan(0, JournalLayout.SegmentHeaderBytes), 0);
            long position = JournalLayout.SegmentHeaderBytes;
            int used = JournalLayout.GroupHeaderBytes;
            int count = 0;
            long first = 0;
            long last = segment.FirstSequence - 1;
            uint flags = 0;
            bool leading = gapBefore;
            foreach ((JournalEntry entry, byte[] payload) in intact)
            {
                // A gap (records lost to the damage) ends the group: the next one says the gap was
                // repaired. The first record's gap is one before this segment (or damage at its start).
                bool gap = leading || entry.Sequence != last + 1;
                leading = false;
                if (count > 0 && (gap || used + JournalLayout.RecordBytes(payload.Length) > buffer.Length))
                {
                    JournalLayout.WriteGroupHeader(buffer, count, used - JournalLayout.GroupHeaderBytes, first, last, flags);
                    errno = errno != 0 ? errno : file.WriteAt(buffer.AsSpan(0, used), position);
                    position += used;
                    used = JournalLayout.GroupHeaderBytes;
                    count = 0;
                }

                if (count == 0)
                {
                    first = entry.Sequence;
                    flags = gap ? JournalLayout.GroupAfterRepairedGap : 0;
                }

                used += JournalLayout.WriteRecord(buffer.AsSpan(used), entry, payload);
                last = entry.Sequence;
                count++;
            }

            if (count > 0)
            {
                JournalLayout.WriteGroupHeader(buffer, count, used - JournalLayout.GroupHeaderBytes, first, last, flags);
                errno = errno != 0 ? errno : file.WriteAt(buffer.AsSpan(0, used), position);
            }

            errno = errno != 0 ? errno : file.Sync();
            if (errno != 0)
            {
                throw new JournalException($"journal repair: cannot write {temporary}: {JournalWriter.Errno(errno)}");
            }

            errno = file.Rename(segment.Path);
            if (errno != 0)
            {
                throw new JournalException($"journal repair: cannot replace {segment.Path}: {JournalWriter.Errno(errno)}");
            }
        }
        finally
        {
            file.Close();
            File.Delete(temporary);
        }

        return (intact.Count, reader.LostRecords, true, lastKept);
    }
}
