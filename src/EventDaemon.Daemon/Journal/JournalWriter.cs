using EventDaemon.Daemon.Interop;
using EventDaemon.Daemon.Journal.Internal;
using EventDaemon.Stages.Metrics;

namespace EventDaemon.Daemon.Journal;

/// <summary>
/// Appends records to the journal's segments: one thread appends and writes groups, a syncer thread
/// makes them durable back to back (group commit), a preparer thread readies the next segment ahead
/// of use: an old segment retention let go (recycled), or a new one zeroed.
/// </summary>
/// <remarks>
/// <para>The appending thread copies each record into a group buffer and, at <see cref="Flush"/>, writes
/// the group with one <c>pwrite</c> into a segment whose blocks are already allocated and zeroed: that
/// write only copies into the page cache, so the appending thread does not wait for the disk, and an
/// overwrite of allocated blocks cannot fail for lack of space. What is written survives a crash of
/// the process from that moment; the syncer's <c>fdatasync</c> makes it survive power loss.</para>
/// <para>The syncer reads <see cref="WrittenSequence"/> before it syncs and publishes it as
/// <see cref="DurableSequence"/> after: whatever arrived in between waits for the next sync, which
/// starts at once. Under load each sync therefore covers everything written during the previous one,
/// and time-to-durable stays near two sync times whatever the rate.</para>
/// <para>The write path was chosen by <c>make bench-journal</c> (perf/EventDaemon.Perf.Journal, README
/// "Journal write path"; 152-byte records on ext4 on virtio): one <c>pwrite</c> per group into a
/// pre-zeroed segment made records durable at p50 289 µs at 100k records/s (1.97× a bare 4 KiB
/// <c>fdatasync</c>) and wrote 7.4 M records/s flat out under group commit. Not <c>pwritev</c>: a
/// separate header iovec bought nothing and gathering each event from the arena halved the rate. Not
/// a shared mapping: each sync write-protects its pages and the next stores fault them dirty again
/// (time to durable 2.5×), and a failed write-back would arrive as SIGBUS, not an errno. Not a growing
/// file: each sync also commits size and allocation (1.9×). Re-run the benchmark before changing this.</para>
/// <para>A full disk can only stop the preparer: the appending thread then waits at the segment's end
/// (backpressure to the ring) and <see cref="Problem"/> says why, until space returns.</para>
/// <para>Zeroing writes every journaled byte twice (the zeros, then the records), and took half a core
/// at the per-key benchmark's rate. So a segment that retention lets go becomes the next spare instead
/// of being deleted, as databases recycle their WAL files: its blocks are allocated and written, so
/// the appending thread's writes stay overwrites, and nothing is zeroed. Its header says it was
/// recycled; the bytes left after its last group are older groups, whose sequences are below the new
/// header's first, and a reader never takes them for records (<c>SegmentReader</c>). At most
/// <see cref="MaxSpares"/> spare files exist; retention deletes beyond that.</para>
/// </remarks>
public sealed partial class JournalWriter : IDisposable
{
    /// <summary>How long the preparer waits before trying again after a failure (a full disk).</summary>
    private static readonly TimeSpan PrepareRetry = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan SyncerIdleWait = TimeSpan.FromMilliseconds(50);

    /// <summary>How long a write waits for the next segment before reporting that it could not go.</summary>
    private static readonly TimeSpan SpareWait = TimeSpan.FromMilliseconds(100);

    /// <summary>Spare files kept at most (the next segment, and one recycled segment waiting behind it).</summary>
    public const int MaxSpares = 2;

    /// <summary>
    /// Bytes after which a group is written even though its batch goes on (unless one largest record
    /// needs more): the group buffer the appending thread fills and the kernel then copies from stays
    /// in the core's cache. Under the per-key load flat out a batch reached about 3,000 records
    /// (450 KB) and the whole 1 MiB buffer was cycled through, each record written into memory that had
    /// left the cache and read back from there by the <c>pwrite</c>; 64 KiB groups cost about 2,000 more
    /// <c>pwrite</c> calls a second there, each a few microseconds, and keep the group's bytes hot.
    /// </summary>
    internal const int GroupTargetBytes = 64 << 10;

    private readonly JournalOptions _options;
    private readonly string _sparePath;
    private readonly byte[] _group;

    // A group is written once the next record would take it past this many bytes (GroupTargetBytes).
    private readonly int _groupBound;
    private readonly int _directoryFd;

    // Segments written and not yet synced, handed from the appending thread to the syncer under _gate.
    private readonly Lock _gate = new();
    private readonly List<SegmentFile> _retired = [];
    private readonly List<SegmentFile> _retiredTaken = [];

    // Every segment on disk, oldest first, the current one last: what retention may delete. Under _gate.
    private readonly List<JournalSegment> _segments = [];

    // Segments retention let go, renamed NAME.spare, waiting to be the next spare. Under _gate.
    private readonly Queue<string> _recycled = new();

    // Spare files on disk: the ready spare, one being zeroed, the recycled ones waiting (and being renamed). Under _gate.
    private int _spareFiles;

    // What the last Retain was told: the preparer recycles with them when it needs a spare, so the
    // segment retention would let go at its next run is reused now instead of a new one being zeroed.
    private long _retainDelivered = long.MinValue;
    private long _retentionBytes = long.MaxValue;

    private readonly Thread? _syncer;
    private readonly Thread _preparer;
    private readonly ManualResetEventSlim _syncerWake = new(false);
    private readonly ManualResetEventSlim _prepareWake = new(true);
    private readonly ManualResetEventSlim _spareReady = new(false);

    // Set by the syncer each time it publishes a durable sequence: what Close waits on.
    private readonly AutoResetEvent _durableAdvanced = new(false);
    private Action? _onDurable;

    private SegmentFile? _segment;
    private SegmentFile? _spare;
    private bool _directoryDirty;

    // A write at the group bound failed: the group grows to the buffer's size until a flush succeeds.
    private bool _boundFlushFailed;
    private int _groupUsed;
    private int _groupRecords;
    private long _groupFirst;
    private long _groupLast;

    private long _written;
    private long _durable;
    private long _appended;
    private long _bytes;
    private long _syncs;
    private long _syncNanos;
    private int _syncerParked;
    private volatile bool _stopping;
    private volatile string? _problem;

    /// <summary>Opens the journal for appending after what <paramref name="recovered"/> found.</summary>
    public JournalWriter(JournalOptions options, JournalState recovered)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(recovered);
        if (options.Problem() is { } problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        _options = options;
        _sparePath = System.IO.Path.Combine(options.Directory, "next.spare");
        _group = GC.AllocateArray<byte>(options.GroupBufferBytes, pinned: true);
        _groupBound = Math.Min(_group.Length, Math.Max(GroupTargetBytes, JournalLayout.GroupHeaderBytes + JournalLayout.RecordBytes(options.MaxEventBytes)));
        _directoryFd = recovered.TakeDirectoryLock();
        _segments.AddRange(recovered.Segments);
        _written = _durable = recovered.LastSequence;
        foreach (string leftover in Directory.EnumerateFiles(options.Directory, "*.spare"))
        {
            // Spares of a run that did not close: never part of the journal, and nothing says what is in them.
            File.Delete(leftover);
        }
        if (recovered.Tail is { } tail && tail.Position + JournalLayout.GroupHeaderBytes + JournalLayout.RecordHeaderBytes < options.SegmentBytes)
        {
            _segment = SegmentFile.Open(tail.Path, create: false, out int errno);
            if (!_segment.IsOpen)
            {
                throw new IOException($"cannot open journal segment {tail.Path}: errno {errno}");
            }

            _segment.Position = tail.Position;
        }

        _preparer = new Thread(PrepareLoop) { Name = "journal-prep", IsBackground = true };
        _preparer.Start();
        if (options.Fsync == JournalFsync.Batch)
        {
            _syncer = new Thread(SyncLoop) { Name = "journal-sync", IsBackground = true };
            _syncer.Start();
        }
    }

    /// <summary>The last sequence written to a segment (in the page cache).</summary>
    /// <remarks>Release on write by the appending thread; acquire on read.</remarks>
    public long WrittenSequence => Volatile.Read(ref _written);

    /// <summary>The last sequence that survives power loss (<see cref="JournalFsync.Batch"/>) or a crash of the process (<see cref="JournalFsync.Never"/>).</summary>
    /// <remarks>Release on write by the syncer (after <c>fdatasync</c> returned); acquire on read.</remarks>
    public long DurableSequence => Volatile.Read(ref _durable);

    /// <summary>
    /// Called after each advance of <see cref="DurableSequence"/> (after the release write), on the
    /// syncer's thread, or with <see cref="JournalFsync.Never"/> on the appending thread at
    /// <see cref="Flush"/>: what acknowledges (the I/O threads' listeners write the acks now due
    /// from this thread while their loops sleep, or wake them). Set once, before the first append;
    /// it must neither block nor allocate, and the syncer's next sync waits for it, so it does no
    /// more than a few non-blocking sends.
    /// </summary>
    public Action? OnDurable
    {
        get => _onDurable;
        set => _onDurable = value;
    }

    /// <summary>The most bytes one group holds, its header included: a record that would take it past them starts the next group.</summary>
    public int GroupBoundBytes => _groupBound;

    /// <summary>Records appended since open.</summary>
    public long Appended => Volatile.Read(ref _appended);

    /// <summary>Bytes written to segments since open, headers included.</summary>
    public long BytesWritten => Volatile.Read(ref _bytes);

    /// <summary>Syncs run, and the time they took in total.</summary>
    public (long Count, long Nanos) Syncs => (Volatile.Read(ref _syncs), Volatile.Read(ref _syncNanos));

    /// <summary>How long each <c>fdatasync</c> took (<c>journal_sync_seconds</c>); recorded by the syncer thread alone.</summary>
    public LatencyHistogram SyncLatency { get; } = new();

    /// <summary>True once the journal is closing: a write that fails now is not retried.</summary>
    public bool IsStopping => _stopping;

    /// <summary>Why the journal cannot go on right now (a full disk, a failing write), or null.</summary>
    public string? Problem => _problem;

    /// <summary>
    /// Copies one record into the current group, writing the group first when this record would take
    /// it past <see cref="GroupBoundBytes"/> (if that write fails, the record goes in past the bound)
    /// or past the buffer. Sequences must increase. Returns false only when the buffer is full and its
    /// write failed, or the journal is stopping; the record was not appended and the caller retries it.
    /// </summary>
    public bool TryAppend(in JournalEntry entry, ReadOnlySpan<byte> payload)
    {
        int size = JournalLayout.RecordBytes(payload.Length);
        if (_groupUsed + size > _groupBound && !_boundFlushFailed && !Flush())
        {
            // The bound is for the cache, not a limit: the record goes into the buffer past it, and the
            // group waits for the flush at its batch's end, which may hand the stage back to its own
            // thread (StageHandoff) where this caller could not. Not tried again before that flush:
            // each try may wait for the next segment.
            _boundFlushFailed = true;
        }

        if (_groupUsed + size > _group.Length && !Flush())
        {
            return false;
        }

        if (_groupRecords == 0)
        {
            _groupUsed = JournalLayout.GroupHeaderBytes;
            _groupFirst = entry.Sequence;
        }

        _groupUsed += JournalLayout.WriteRecord(_group.AsSpan(_groupUsed), entry, payload);
        _groupRecords++;
        _groupLast = entry.Sequence;
        return true;
    }

    /// <summary>
    /// Writes the current group into the segment (one <c>pwrite</c>), starting the next segment when
    /// this one is full. Returns false when the write failed or the journal is stopping; the group is
    /// kept and written by the next call.
    /// </summary>
    public bool Flush()
    {
        if (_groupRecords == 0)
        {
            return true;
        }

        if ((_segment is null || _segment.Position + _groupUsed > _options.SegmentBytes) && !NextSegment())
        {
            return false;
        }

        SegmentFile segment = _segment!;
        Span<byte> group = _group.AsSpan(0, _groupUsed);
        JournalLayout.WriteGroupHeader(group, _groupRecords, _groupUsed - JournalLayout.GroupHeaderBytes, _groupFirst, _groupLast);
        int errno = _failWrites > 0 ? FailedWrite() : segment.WriteAt(group, segment.Position);
        if (errno != 0)
        {
            _problem = $"journal: cannot write {segment.Path}: {Errno(errno)}";
            return false;
        }

        segment.Position += _groupUsed;
        _boundFlushFailed = false;
        Volatile.Write(ref _bytes, _bytes + _groupUsed);
        Volatile.Write(ref _appended, _appended + _groupRecords);
        _groupRecords = 0;
        _groupUsed = 0;
        Volatile.Write(ref _written, _groupLast);
        if (_syncer is null)
        {
            // Never synced: in the page cache is as durable as this mode gets. Told at once, as the
            // syncer tells its moves: I/O threads waiting to acknowledge do not poll the horizon.
            Volatile.Write(ref _durable, _groupLast);
            _onDurable?.Invoke();
        }
        else if (Volatile.Read(ref _syncerParked) != 0)
        {
            _syncerWake.Set();
        }

        return true;
    }

    /// <summary>Segments on disk, oldest first.</summary>
    public IReadOnlyList<JournalSegment> Segments
    {
        get
        {
            lock (_gate)
            {
                return [.. _segments];
            }
        }
    }

    /// <summary>Spare files on disk now (ready, being zeroed, or recycled and waiting).</summary>
    public int SpareFiles
    {
        get
        {
            lock (_gate)
            {
                return _spareFiles;
            }
        }
    }

    /// <summary>
    /// Lets the oldest segments go while the journal holds more than <paramref name="retentionBytes"/>,
    /// but only segments whose every record is at or below <paramref name="deliveredSequence"/> (what
    /// every sink has delivered, after the checkpoints saying so were synced) and never the one being
    /// written: each becomes a spare (recycled) while fewer than <see cref="MaxSpares"/> exist, and is
    /// deleted beyond that. Returns the number let go. Any thread; the directory is synced after.
    /// </summary>
    public int Retain(long deliveredSequence, long retentionBytes)
    {
        Volatile.Write(ref _retainDelivered, deliveredSequence);
        Volatile.Write(ref _retentionBytes, retentionBytes);
        return Trim(deliveredSequence, retentionBytes);
    }

    private int Trim(long deliveredSequence, long retentionBytes)
    {
        int removed = 0;
        while (true)
        {
            JournalSegment oldest;
            bool recycle;
            lock (_gate)
            {
                // A segment's last record is one before the next segment's first.
                if (_segments.Count < 2
                    || (long)_segments.Count * _options.SegmentBytes <= retentionBytes
                    || _segments[1].FirstSequence - 1 > deliveredSequence)
                {
                    break;
                }

                oldest = _segments[0];
                _segments.RemoveAt(0);
                recycle = !_stopping && _spareFiles < MaxSpares;
                if (recycle)
                {
                    _spareFiles++;
                }
            }

            removed++;
            string spare = System.IO.Path.ChangeExtension(oldest.Path, ".spare");
            if (recycle && Recycle(oldest.Path, spare))
            {
                lock (_gate)
                {
                    _recycled.Enqueue(spare);
                }

                _prepareWake.Set();
                continue;
            }

            if (recycle)
            {
                lock (_gate)
                {
                    _spareFiles--;
                }
            }

            File.Delete(oldest.Path);
        }

        if (removed > 0 && Libc.fsync(_directoryFd) != 0)
        {
            _problem = $"journal: cannot sync {_options.Directory} after removing segments: {Errno(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}";
        }

        return removed;
    }

    /// <summary>
    /// Renames a segment to a spare name when it has the full size (a segment truncated by damage, or
    /// of another <c>segment_bytes</c>, is not reused: its blocks would have to be allocated again).
    /// </summary>
    private bool Recycle(string path, string spare)
    {
        try
        {
            if (new FileInfo(path).Length != _options.SegmentBytes)
            {
                return false;
            }

            File.Move(path, spare, overwrite: true);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Writes what is buffered, waits until it is durable (at most <paramref name="timeout"/>), and stops.</summary>
    /// <returns>false when something written could not be made durable in time.</returns>
    public bool Close(TimeSpan timeout)
    {
        bool flushed = Flush();
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (DurableSequence < WrittenSequence && Environment.TickCount64 < deadline)
        {
            _syncerWake.Set();
            _durableAdvanced.WaitOne(TimeSpan.FromMilliseconds(Math.Max(1, deadline - Environment.TickCount64)));
        }

        bool durable = flushed && DurableSequence >= WrittenSequence;
        Dispose();
        return durable;
    }

    public void Dispose()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        _syncerWake.Set();
        _prepareWake.Set();
        _syncer?.Join();
        _preparer.Join();
        lock (_gate)
        {
            foreach (SegmentFile retired in _retired)
            {
                retired.Close();
            }

            _retired.Clear();
        }

        _segment?.Close();
        if (_spare is not null)
        {
            _spare.Close();
            File.Delete(_spare.Path);
        }

        lock (_gate)
        {
            // Spares are not kept across runs: the next start zeroes its first spare again.
            while (_recycled.TryDequeue(out string? recycled))
            {
                File.Delete(recycled);
            }
        }

        Libc.close(_directoryFd);
        _syncerWake.Dispose();
        _prepareWake.Dispose();
        _spareReady.Dispose();
        _durableAdvanced.Dispose();
    }

    /// <summary>Turns the prepared spare into the next segment: header, name, then hand the old one to the syncer.</summary>
    private bool NextSegment()
    {
        // Normally ready long before: the preparer starts on the next one as soon as this one is taken.
        // When it is not (a full disk), the caller backs off and retries: it may be a source's thread.
        if (_stopping || !_spareReady.Wait(SpareWait))
        {
            return false;
        }

        SegmentFile next = _spare!;
        Span<byte> header = stackalloc byte[JournalLayout.SegmentHeaderBytes];
        JournalLayout.WriteSegmentHeader(header, _options.SegmentBytes, _groupFirst, next.Recycled ? JournalLayout.SegmentRecycled : 0);
        int errno = next.WriteAt(header, 0);
        if (errno == 0)
        {
            // The header is on disk before any group: were the first groups written back before it, a
            // recycled file would still carry its old header after a power cut, and with it the old
            // first sequence, under which its leftover groups would read as records.
            errno = next.Sync();
        }

        if (errno == 0)
        {
            errno = next.Rename(System.IO.Path.Combine(_options.Directory, JournalLayout.SegmentName(_groupFirst)));
        }

        if (errno != 0)
        {
            _problem = $"journal: cannot start segment {JournalLayout.SegmentName(_groupFirst)}: {Errno(errno)}";
            return false;
        }

        next.Position = JournalLayout.SegmentHeaderBytes;
        _spare = null;
        _spareReady.Reset();
        SegmentFile? old = _segment;
        lock (_gate)
        {
            if (old is not null && _syncer is not null)
            {
                _retired.Add(old);
            }

            _segment = next;
            _segments.Add(new JournalSegment(next.Path, _groupFirst));
            _spareFiles--;
            _directoryDirty = true;
        }

        if (_syncer is null)
        {
            old?.Close();
        }

        _prepareWake.Set();
        return true;
    }

    /// <summary>Keeps one spare segment ready (recycled or zeroed): allocated blocks make the appending thread's writes cheap and unfailing.</summary>
    private void PrepareLoop()
    {
        while (true)
        {
            _prepareWake.Wait();
            _prepareWake.Reset();
            if (_stopping)
            {
                return;
            }

            if (_spareReady.IsSet)
            {
                continue;
            }

            string? failure = PrepareSpare(out SegmentFile? spare);
            if (spare is not null)
            {
                _spare = spare;
                _problem = null;
                _spareReady.Set();
                continue;
            }

            _problem = failure;
            // Try again later: retention may free space meanwhile.
            if (!_stopping)
            {
                Thread.Sleep(PrepareRetry);
                _prepareWake.Set();
            }
        }
    }

    private string? PrepareSpare(out SegmentFile? spare)
    {
        spare = null;
        // The segment the next retention run would let go is recycled now rather than a new one zeroed.
        Trim(Volatile.Read(ref _retainDelivered), Volatile.Read(ref _retentionBytes));
        while (true)
        {
            string? path;
            lock (_gate)
            {
                if (!_recycled.TryDequeue(out path))
                {
                    // Counted before zeroing starts, so retention does not recycle beyond the bound meanwhile.
                    _spareFiles++;
                    break;
                }
            }

            SegmentFile recycled = SegmentFile.Open(path, create: false, out _);
            if (recycled.IsOpen)
            {
                recycled.Recycled = true;
                spare = recycled;
                return null;
            }

            File.Delete(path);
            lock (_gate)
            {
                _spareFiles--;
            }
        }

        string? failure = ZeroSpare(out spare);
        if (spare is null)
        {
            lock (_gate)
            {
                _spareFiles--;
            }
        }

        return failure;
    }

    private string? ZeroSpare(out SegmentFile? spare)
    {
        spare = null;
        File.Delete(_sparePath);
        SegmentFile file = SegmentFile.Open(_sparePath, create: true, out int errno);
        if (!file.IsOpen)
        {
            return $"journal: cannot create {_sparePath}: {Errno(errno)}";
        }

        errno = file.WriteZeros(0, _options.SegmentBytes, () => _stopping);
        if (errno == 0 && !_stopping)
        {
            errno = file.Sync();
        }

        if (errno != 0 || _stopping)
        {
            file.Close();
            File.Delete(_sparePath);
            return errno == Libc.ENoSpc
                ? $"journal: the disk is full: cannot allocate the next {_options.SegmentBytes}-byte segment in {_options.Directory}; the journal waits (and the sources with it) until space is freed"
                : $"journal: cannot allocate the next segment: {Errno(errno)}";
        }

        spare = file;
        return null;
    }

    private void SyncLoop()
    {
        while (true)
        {
            long target = Volatile.Read(ref _written);
            if (target <= _durable)
            {
                if (_stopping)
                {
                    return;
                }

                Volatile.Write(ref _syncerParked, 1);
                // Checked again after saying so: a write between the two reads has seen the flag and set the event.
                if (Volatile.Read(ref _written) <= _durable)
                {
                    _syncerWake.Wait(SyncerIdleWait);
                }

                _syncerWake.Reset();
                Volatile.Write(ref _syncerParked, 0);
                continue;
            }

            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            int errno = SyncTo(out string? what);
            if (errno != 0)
            {
                _problem = $"journal: cannot sync {what}: {Errno(errno)}";
                _syncerWake.Wait(SyncerIdleWait);
                continue;
            }

            long took = (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalNanoseconds;
            SyncLatency.Record(took);
            Volatile.Write(ref _syncNanos, _syncNanos + took);
            Volatile.Write(ref _syncs, _syncs + 1);
            Volatile.Write(ref _durable, target);
            // The listeners first: they write the acks now due (PROTOCOL.md §3), which wait for
            // nothing else; Close, the only one waiting on the event, is in no hurry.
            _onDurable?.Invoke();
            _durableAdvanced.Set();
        }
    }

    /// <summary>Syncs every segment that may hold a record up to the target read before the call.</summary>
    private int SyncTo(out string? what)
    {
        // The current segment is read before the retired list is taken: a roll in between puts the old
        // segment on the list first, so a record up to the target is in one of the two.
        SegmentFile? current;
        bool directory;
        lock (_gate)
        {
            current = _segment;
            _retiredTaken.AddRange(_retired);
            _retired.Clear();
            directory = _directoryDirty;
            _directoryDirty = false;
        }

        int errno = 0;
        what = null;
        int synced = 0;
        for (; synced < _retiredTaken.Count && errno == 0; synced++)
        {
            if ((errno = _retiredTaken[synced].Sync()) != 0)
            {
                what = _retiredTaken[synced].Path;
                break;
            }

            _retiredTaken[synced].Close();
        }

        if (synced < _retiredTaken.Count)
        {
            // Not durable yet: back on the list, first, for the next attempt.
            lock (_gate)
            {
                _retired.InsertRange(0, _retiredTaken.GetRange(synced, _retiredTaken.Count - synced));
            }
        }

        _retiredTaken.Clear();
        if (errno == 0 && current is not null && (errno = current.Sync()) != 0)
        {
            what = current.Path;
        }

        if (errno == 0 && directory && Libc.fsync(_directoryFd) != 0)
        {
            errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            what = _options.Directory;
        }

        if (errno != 0 && directory)
        {
            lock (_gate)
            {
                _directoryDirty = true;
            }
        }

        return errno;
    }

    internal static string Errno(int errno) => errno switch
    {
        Libc.ENoSpc => "no space left on the device",
        5 => "input/output error",
        13 => "permission denied",
        30 => "read-only file system",
        _ => $"errno {errno}",
    };
}
