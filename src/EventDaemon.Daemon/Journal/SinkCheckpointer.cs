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

    // Behind an aggregate (Windows): the batch being written completes windows up to _batchWindow in
    // its first _batchKeep bytes of _batchBytes; what follows belongs to a window still arriving.
    private long _batchWindow;
    private int _batchKeep;
    private int _batchBytes;
    private bool _batchHasWindow;
    private long _fileEnd;
    private long _pendingWindow = long.MinValue;
    private long _deliveredWindow;

    internal SinkCheckpointer(string sink, SinkCheckpoint file, DaemonJournal journal, bool windows = false)
    {
        Sink = sink;
        _file = file;
        _journal = journal;
        Windows = windows;
        _sequence = windows ? -1 : file.Last?.Sequence ?? -1;
        _deliveredWindow = windows ? file.Last?.Sequence ?? long.MinValue : long.MinValue;
    }

    /// <summary>
    /// A file sink behind an aggregate: what it delivered is counted in whole windows (their results
    /// are new events with no journal sequence), so the checkpoint holds the start of the last window
    /// whose every line is in the file, and the offset where the next window's lines begin.
    /// </summary>
    public bool Windows { get; }

    /// <summary>Behind an aggregate: windows starting at or before this were delivered before the last
    /// stop, so a replay that recomputes them is skipped; <see cref="long.MinValue"/> for none.</summary>
    public long SkipWindowsThrough => Windows && AtStart is { } c ? c.Sequence : long.MinValue;

    /// <summary>Behind an aggregate: the start of the last window the synced checkpoint says was delivered whole; <see cref="long.MinValue"/> before the first.</summary>
    /// <remarks>Release write by the sink's thread after the checkpoint is synced; acquire read by the status thread.</remarks>
    public long DeliveredWindow => Volatile.Read(ref _deliveredWindow);

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
        _fileEnd = offset;
        _opened = true;
        if (Windows && _file.Last is null)
        {
            // Behind an aggregate, a first checkpoint before any line: the next start cuts the file
            // back to it, since the windows written after it are recomputed by the aggregate's replay.
            _pendingWindow = long.MinValue;
            WriteFile(new Checkpoint(long.MinValue, offset), Stopwatch.GetTimestamp());
        }
    }

    /// <summary>Behind an aggregate: its checkpoint, written after each of this sink's (so it never claims more than the sinks hold).</summary>
    public AggregateCheckpointer? Aggregate { get; internal set; }

    /// <summary>
    /// Nothing is buffered and every event up to <paramref name="ringSequence"/> was written or not for
    /// this sink: the checkpoint may move on with the same offset (a stream of events the sink filters
    /// out would otherwise hold retention and lengthen the next replay).
    /// </summary>
    public void Passed(long ringSequence)
    {
        if (!Windows && _opened && ringSequence > _pendingRing && ringSequence >= SkipBelowRing)
        {
            _pendingRing = ringSequence;
            _pending = true;
        }
    }

    /// <summary>The batch was written: the file ends at <paramref name="offset"/>. Not yet on disk.</summary>
    public void Written(long offset)
    {
        if (Windows)
        {
            _fileEnd = offset;
            if (_batchHasWindow)
            {
                _batchHasWindow = false;
                _pendingWindow = _batchWindow;
                _pendingOffset = offset - _batchBytes + _batchKeep;
                _pending = true;
            }

            return;
        }

        if (_batchRing < 0)
        {
            return;
        }

        _pendingRing = _batchRing;
        _pendingOffset = offset;
        _pending = true;
    }

    /// <summary>
    /// Behind an aggregate: the batch about to be written (<paramref name="batchBytes"/>) completes every
    /// window up to the one starting at <paramref name="window"/> in its first <paramref name="keepBytes"/>
    /// bytes (the rest are lines of a window whose last lines may not have arrived yet).
    /// </summary>
    public void BatchWindows(long window, int keepBytes, int batchBytes)
    {
        _batchWindow = window;
        _batchKeep = keepBytes;
        _batchBytes = batchBytes;
        _batchHasWindow = true;
    }

    /// <summary>Behind an aggregate, with nothing buffered: every window up to <paramref name="window"/>
    /// is written or not for this sink, and the file ends where the next one begins.</summary>
    public void PassedWindow(long window)
    {
        if (_opened && window > _pendingWindow)
        {
            _pendingWindow = window;
            _pendingOffset = _fileEnd;
            _pending = true;
        }
    }

    /// <summary>The file was rotated: what was written is in the renamed file, the live one starts empty.</summary>
    public void Rotated()
    {
        _fileEnd = 0;
        if (_pendingRing >= 0 || _pendingWindow != long.MinValue)
        {
            _pendingOffset = 0;
            _pending = true;
        }
    }

    /// <summary>A batch or a pass is waiting for <see cref="Commit"/>.</summary>
    public bool Pending => _pending;

    /// <summary>What was written is on disk (the file was synced, or the page cache holds it): writes
    /// the checkpoint; with <paramref name="limited"/> only if the last was written long enough ago.</summary>
    public void Commit(long timestamp, bool limited = false)
    {
        if (!_pending || (limited && timestamp - _lastCommit < _unsyncedTicks))
        {
            return;
        }

        long sequence = Windows ? _pendingWindow : _journal.JournalOf(_pendingRing);
        if (WriteFile(new Checkpoint(sequence, _pendingOffset), timestamp) && Windows)
        {
            Aggregate?.Commit();
        }
    }

    private bool WriteFile(Checkpoint checkpoint, long timestamp)
    {
        int errno = _file.Write(checkpoint);
        if (errno != 0)
        {
            // Kept pending: the next commit tries again; meanwhile replay starts from the older one.
            LastError = $"checkpoint {_file.Path}: {JournalWriter.Errno(errno)}";
            return false;
        }

        LastError = null;
        _pending = false;
        _lastCommit = timestamp;
        Volatile.Write(ref Windows ? ref _deliveredWindow : ref _sequence, checkpoint.Sequence);
        return true;
    }

    public void Dispose() => _file.Dispose();
}
