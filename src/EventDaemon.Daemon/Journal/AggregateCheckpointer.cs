using EventDaemon.Stages.Aggregation;

namespace EventDaemon.Daemon.Journal;

/// <summary>
/// An aggregate's checkpoint (<c>aggregate-NAME.checkpoint</c> in the journal's directory, the two
/// slots of <see cref="SinkCheckpoint"/>): the journal sequence a replay starts at so that every
/// window its sinks have not delivered is recomputed whole (the first event of the oldest window
/// then open, or the next event when none was), the start of the last window they delivered (never
/// emitted again), and the watermark just before that first event (restored, so the replayed events
/// fall into the windows, and are late or not, as they were the first time).
/// </summary>
/// <remarks>
/// One per aggregate name, opened by <see cref="DaemonJournal"/> and kept across reloads; each graph
/// attaches its aggregate's <see cref="AggregateProgress"/> and the file sinks behind it. Written by
/// the status thread (<see cref="Commit"/>, before retention) from what the sinks' synced
/// checkpoints say: an aggregate checkpoint never claims a window its sinks may not hold after a
/// crash, so a replay from it recomputes at least every window they still need. Only an aggregate
/// of the main stream on one thread checkpoints.
/// </remarks>
public sealed class AggregateCheckpointer : IDisposable
{
    private readonly SinkCheckpoint _file;
    private readonly DaemonJournal _journal;
    private readonly List<SinkCheckpointer> _sinks = [];
    private AggregateProgress _progress = new();
    private long _sequence;

    internal AggregateCheckpointer(string aggregate, SinkCheckpoint file, DaemonJournal journal)
    {
        Aggregate = aggregate;
        _file = file;
        _journal = journal;
        AtStart = file.Last;
        _sequence = file.Last?.Sequence ?? 0;
    }

    public string Aggregate { get; }

    /// <summary>The journal it checkpoints into (its sinks' checkpoints are opened there too).</summary>
    public DaemonJournal Journal => _journal;

    public string Path => _file.Path;

    /// <summary>The checkpoint found at start (or written on first open), before this run wrote any.</summary>
    public Checkpoint? AtStart { get; }

    /// <summary>What the aggregate of the running graph reports and reads at its first event.</summary>
    public AggregateProgress Progress
    {
        get
        {
            lock (_sinks)
            {
                return _progress;
            }
        }
    }

    /// <summary>The journal sequence a replay for this aggregate starts at, by its synced checkpoint (<c>aggregate_checkpoint_sequence</c>):
    /// retention keeps every segment from it on.</summary>
    /// <remarks>Release write by the status thread after the sync; acquire read by any thread.</remarks>
    public long Sequence => Volatile.Read(ref _sequence);

    /// <summary>The last error writing the checkpoint file, or null.</summary>
    public string? LastError { get; private set; }

    /// <summary>A graph is built: its aggregate reports into a new progress, and its sinks are attached again.</summary>
    public AggregateProgress Attach()
    {
        lock (_sinks)
        {
            _sinks.Clear();
            _progress = new AggregateProgress();
            return _progress;
        }
    }

    /// <summary>A file sink on the aggregate's ring: windows count as delivered once it (and every other one) has them.</summary>
    public void Behind(SinkCheckpointer sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        lock (_sinks)
        {
            if (!_sinks.Contains(sink))
            {
                _sinks.Add(sink);
            }

            sink.Aggregate = this;
        }
    }

    /// <summary>
    /// After a sink behind it synced its checkpoint (its thread), and every second (the status
    /// thread, for an aggregate with no file sink behind it): the lowest window the sinks behind it
    /// have delivered by their synced checkpoints (every window emitted when no file sink is behind
    /// it), and the replay start recorded when that window was emitted; writes and syncs the
    /// checkpoint when it moved. No allocation.
    /// </summary>
    public void Commit()
    {
        lock (_sinks)
        {
            long delivered = long.MaxValue;
            foreach (SinkCheckpointer sink in _sinks)
            {
                delivered = Math.Min(delivered, sink.DeliveredWindow);
            }

            if (delivered == long.MinValue || !_progress.TryFind(delivered, out long start, out long fromRing, out long mark))
            {
                return; // a sink has delivered no window of this run yet: the checkpoint stays
            }

            var checkpoint = new Checkpoint(_journal.JournalOf(fromRing), start, mark);
            if (_file.Last is { } last && (last == checkpoint || last.Offset > start))
            {
                return;
            }

            Write(checkpoint);
        }
    }

    /// <summary>Writes and syncs <paramref name="checkpoint"/>.</summary>
    internal void Write(Checkpoint checkpoint)
    {
        int errno = _file.Write(checkpoint);
        if (errno != 0)
        {
            // The older checkpoint stays: a replay from it recomputes more, never less.
            LastError = $"checkpoint {_file.Path}: {JournalWriter.Errno(errno)}";
            return;
        }

        LastError = null;
        Volatile.Write(ref _sequence, checkpoint.Sequence);
    }

    public void Dispose() => _file.Dispose();
}
