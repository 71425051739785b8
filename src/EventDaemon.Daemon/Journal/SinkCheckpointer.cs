using System.Diagnostics;

namespace EventDaemon.Daemon.Journal;

/// <summary>
/// Ties a sink's writes to the journal: the sink says which ring sequence a batch reaches before
/// writing it (<see cref="Batch"/>), its transport says where the batch ended in the file
/// (<see cref="Written"/>) and when what it wrote is on disk (<see cref="Commit"/>), and only then is
/// the checkpoint written (journal sequence, byte offset). A checkpoint therefore never claims bytes
/// the file may not hold after a crash.
/// </summary>
/// <remarks>
/// One per sink name, opened by <see cref="DaemonJournal"/> and kept across reloads. Written by the
/// sink's thread only; <see cref="Sequence"/> is read by the status thread (stats, retention).
/// </remarks>
public sealed class SinkCheckpointer : IDisposable
{
    /// <summary>With <c>fsync = "never"</c> a file's bytes survive <c>kill -9</c> once written (the page
    /// cache outlives the process): a checkpoint could follow every write, but each costs an
    /// <c>fdatasync</c> of its own, so at most one per this many milliseconds.</summary>
    public const int UnsyncedCommitMs = 100;

    private readonly SinkCheckpoint _file;
    private readonly DaemonJournal _journal;
    private readonly long _unsyncedTicks = UnsyncedCommitMs * Stopwatch.Frequency / 1000;

    private long _batchRing = -1;
    private long _pendingRing = -1;
    private long _pendingOffset;
    private bool _pending;
    private bool _opened;
    private long _lastCommit;
    private long _sequence;

    internal SinkCheckpointer(string sink, SinkCheckpoint file, DaemonJournal journal)
    {
        Sink = sink;
        _file = file;
        _journal = journal;
        _sequence = file.Last?.Sequence ?? -1;
    }

    public string Sink { get; }

    public string Path => _file.Path;

    /// <summary>The checkpoint found at start, before this run wrote any; null when there was none.</summary>
    public Checkpoint? AtStart { get; init; }

    /// <summary>
    /// Ring sequences below this were replayed and this sink delivered them before the crash (its
    /// checkpoint is past them): skipped. Set by the replay before it publishes; 0 without one.
    /// </summary>
    public long SkipBelowRing { get; internal set; }

    /// <summary>
    /// The byte offset the file is cut back to when the sink opens it at start: what follows the
    /// checkpoint is replayed, so kept it would be there twice. Once per run (a reload opens the file
    /// again and must keep it whole); null without a checkpoint.
    /// </summary>
    public long? TakeStartOffset()
    {
        // A negative offset: a sink whose checkpoint was missing, whose file is kept whole.
        if (_startTaken || AtStart is not { Offset: >= 0 } c)
        {
            return null;
        }

        _startTaken = true;
        return c.Offset;
    }

    private bool _startTaken;

    /// <summary>The last journal sequence the synced checkpoint says was delivered; -1 before the first (<c>sink_checkpoint_sequence</c>).</summary>
    public long Sequence => Volatile.Read(ref _sequence);

    /// <summary>The last error writing the checkpoint file, or null.</summary>
    public string? LastError { get; private set; }

    /// <summary>The batch about to be written reaches ring sequence <paramref name="ringSequence"/> (every event up to it is in the batch or not for this sink).</summary>
    public void Batch(long ringSequence) => _batchRing = ringSequence;

    /// <summary>The file was opened and ends at <paramref name="offset"/>: where a checkpoint points until a batch is written.</summary>
    public void Opened(long offset)
    {
        _pendingOffset = offset;
        _opened = true;
    }

    /// <summary>
    /// Nothing is buffered and every event up to <paramref name="ringSequence"/> was written or not for
    /// this sink: the checkpoint may move on with the same offset (a stream of events the sink filters
    /// out would otherwise hold retention and lengthen the next replay).
    /// </summary>
    public void Passed(long ringSequence)
    {
        if (_opened && ringSequence > _pendingRing && ringSequence >= SkipBelowRing)
        {
            _pendingRing = ringSequence;
            _pending = true;
        }
    }

    /// <summary>The batch was written: the file ends at <paramref name="offset"/>. Not yet on disk.</summary>
    public void Written(long offset)
    {
        if (_batchRing < 0)
        {
            return;
        }

        _pendingRing = _batchRing;
        _pendingOffset = offset;
        _pending = true;
    }

    /// <summary>The file was rotated: what was written is in the renamed file, the live one starts empty.</summary>
    public void Rotated()
    {
        if (_pendingRing >= 0)
        {
            _pendingOffset = 0;
            _pending = true;
        }
    }

    /// <summary>What was written is on disk (the file was synced, or the page cache holds it): writes
    /// the checkpoint; with <paramref name="limited"/> only if the last was written long enough ago.</summary>
    public void Commit(long timestamp, bool limited = false)
    {
        if (!_pending || (limited && timestamp - _lastCommit < _unsyncedTicks))
        {
            return;
        }

        long sequence = _journal.JournalOf(_pendingRing);
        int errno = _file.Write(new Checkpoint(sequence, _pendingOffset));
        if (errno != 0)
        {
            // Kept pending: the next commit tries again; meanwhile replay starts from the older one.
            LastError = $"checkpoint {_file.Path}: {JournalWriter.Errno(errno)}";
            return;
        }

        LastError = null;
        _pending = false;
        _lastCommit = timestamp;
        Volatile.Write(ref _sequence, sequence);
    }

    public void Dispose() => _file.Dispose();
}
