using System.Runtime.InteropServices;
using EventDaemon.Daemon.Interop;
using EventDaemon.Daemon.Journal.Internal;

namespace EventDaemon.Daemon.Journal;

/// <summary>One segment file and the first sequence its header names.</summary>
public readonly record struct JournalSegment(string Path, long FirstSequence);

/// <summary>
/// What is in a journal directory when the daemon starts, and the repairs that make it writable:
/// the segments in sequence order, where the last one's intact records end (a torn write after
/// them, which was never durable, is zeroed), and the last sequence written.
/// </summary>
/// <remarks>
/// Only the last segment is read whole at start, so start time does not grow with retention; the
/// others are read when replayed or verified, and damage there is counted then.
/// The directory is locked (<c>flock</c>) for as long as a writer holds it: a second daemon, or a
/// repair, on the same journal is refused.
/// </remarks>
public sealed class JournalState
{
    private int _directoryFd;

    private JournalState(int directoryFd, List<JournalSegment> segments, (string Path, long Position)? tail, long lastSequence, long tornBytes, List<JournalDamage> damage, List<JournalGap> gaps)
    {
        _directoryFd = directoryFd;
        Segments = segments;
        Tail = tail;
        LastSequence = lastSequence;
        TornBytes = tornBytes;
        Damage = damage;
        Gaps = gaps;
    }

    /// <summary>Segments in sequence order.</summary>
    public IReadOnlyList<JournalSegment> Segments { get; }

    /// <summary>The last segment and where its next group goes; null when there is none.</summary>
    public (string Path, long Position)? Tail { get; }

    /// <summary>The last sequence in the journal; -1 when it is empty.</summary>
    public long LastSequence { get; }

    /// <summary>Bytes of a torn final write that were zeroed.</summary>
    public long TornBytes { get; }

    /// <summary>Segments whose header could not be read (set aside, not deleted) and other damage met at start.</summary>
    public IReadOnlyList<JournalDamage> Damage { get; }

    /// <summary>Records lost to damage inside the last segment (the one read whole at start), gap by gap.</summary>
    public IReadOnlyList<JournalGap> Gaps { get; }

    /// <summary>
    /// Opens (creating if needed) and locks the journal directory, lists its segments, reads the last
    /// one whole and zeroes a torn write at its end. Throws <see cref="JournalException"/> with one
    /// line when the directory cannot be used or another process holds it.
    /// </summary>
    public static JournalState Recover(JournalOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            Directory.CreateDirectory(options.Directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new JournalException($"journal: cannot create {options.Directory}: {e.Message}");
        }

        int fd = LockDirectory(options.Directory);
        try
        {
            return Read(options, fd);
        }
        catch
        {
            Libc.close(fd);
            throw;
        }
    }

    /// <summary>Hands the directory's descriptor (and its lock) to the writer.</summary>
    internal int TakeDirectoryLock()
    {
        int fd = _directoryFd;
        _directoryFd = -1;
        return fd;
    }

    /// <summary>Releases the lock when no writer took it (verify, tests).</summary>
    public void Release()
    {
        if (_directoryFd >= 0)
        {
            Libc.close(_directoryFd);
            _directoryFd = -1;
        }
    }

    /// <summary>Lists the segments in sequence order without reading them; a segment whose header is damaged is reported.</summary>
    public static List<JournalSegment> ListSegments(string directory, List<JournalDamage> damage)
    {
        var segments = new List<JournalSegment>();
        foreach (string path in Directory.EnumerateFiles(directory, "*.journal"))
        {
            using SegmentReader? reader = SegmentReader.Open(path, out string? problem);
            if (reader is null)
            {
                damage.Add(new JournalDamage(path, 0, 0, problem!));
                continue;
            }

            segments.Add(new JournalSegment(path, reader.FirstSequence));
        }

        segments.Sort((a, b) => a.FirstSequence != b.FirstSequence
            ? a.FirstSequence.CompareTo(b.FirstSequence)
            : string.CompareOrdinal(a.Path, b.Path));
        return segments;
    }

    private static JournalState Read(JournalOptions options, int directoryFd)
    {
        var damage = new List<JournalDamage>();
        List<JournalSegment> segments = ListSegments(options.Directory, damage);
        long torn = 0;
        while (segments.Count > 0)
        {
            JournalSegment last = segments[^1];
            using var reader = new JournalReader([last], 0);
            var gaps = new List<JournalGap>();
            long counted = 0;
            long previous = -1;
            while (reader.TryRead(out JournalEntry entry, out _))
            {
                // The reader counts a gap when it reads the record after it: a gap opens just past the previous record.
                if (reader.LostRecords > counted)
                {
                    gaps.Add(new JournalGap(previous + 1, reader.LostRecords - counted));
                    counted = reader.LostRecords;
                }

                previous = entry.Sequence;
            }

            (string _, long end, long lastWhole, long dirtyEnd) = reader.Tail ?? new JournalTail(last.Path, JournalLayout.SegmentHeaderBytes, -1, JournalLayout.SegmentHeaderBytes);
            if (lastWhole < last.FirstSequence)
            {
                // Nothing intact in it: a segment started just before a crash. Its name says nothing
                // the previous segment does not, so it goes, and the previous one is the tail.
                File.Delete(last.Path);
                torn += dirtyEnd - end;
                segments.RemoveAt(segments.Count - 1);
                continue;
            }

            if (dirtyEnd > end)
            {
                ZeroTail(last.Path, end, dirtyEnd);
                torn += dirtyEnd - end;
            }

            // A gap after the last whole group is inside the torn write zeroed above: never durable, not lost.
            return new JournalState(directoryFd, segments, (last.Path, end), lastWhole, torn,
                [.. damage, .. reader.Damage.Where(d => d.Offset < end)], gaps.FindAll(g => g.From <= lastWhole));
        }

        return new JournalState(directoryFd, segments, null, -1, torn, damage, []);
    }

    /// <summary>Zeroes a torn write so that the next group written there is not followed by its leftovers.</summary>
    private static void ZeroTail(string path, long from, long to)
    {
        SegmentFile file = SegmentFile.Open(path, create: false, out int errno);
        if (!file.IsOpen)
        {
            throw new JournalException($"journal: cannot open {path} to zero its torn end: {JournalWriter.Errno(errno)}");
        }

        try
        {
            errno = file.WriteZeros(from, to - from);
            if (errno == 0)
            {
                errno = file.Sync();
            }

            if (errno != 0)
            {
                throw new JournalException($"journal: cannot zero the torn end of {path}: {JournalWriter.Errno(errno)}");
            }
        }
        finally
        {
            file.Close();
        }
    }

    internal static int LockDirectory(string directory)
    {
        int fd = SegmentFile.OpenFd(directory, Libc.OReadOnly | Libc.OCloseOnExec, out int errno);
        if (fd < 0)
        {
            throw new JournalException($"journal: cannot open {directory}: {JournalWriter.Errno(errno)}");
        }

        if (Libc.flock(fd, Libc.LockExclusive | Libc.LockNonBlocking) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            Libc.close(fd);
            throw new JournalException(errno == Libc.EWouldBlock
                ? $"journal: {directory} is in use by another process (a running daemon holds it)"
                : $"journal: cannot lock {directory}: {JournalWriter.Errno(errno)}");
        }

        return fd;
    }
}

/// <summary>Records missing between two intact ones: <paramref name="Count"/> sequences from <paramref name="From"/> on.</summary>
public readonly record struct JournalGap(long From, long Count);

/// <summary>A journal that cannot be opened, in one line for the operator.</summary>
public sealed class JournalException(string message) : Exception(message);
