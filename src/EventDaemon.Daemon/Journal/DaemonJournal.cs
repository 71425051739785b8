using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Sources;
using EventDaemon.Events;
using EventDaemon.Events.Ingest;
using EventDaemon.Stages.Aggregation;

namespace EventDaemon.Daemon.Journal;

/// <summary>
/// The journal as the daemon runs it (SPEC §7): the writer and its threads, opened once at start and
/// kept across reloads (each graph gets a new <see cref="JournalHandler"/> on the same writer), the
/// numbering that ties the ring's sequences of this run to the journal's, and what the stats read.
/// </summary>
/// <remarks>
/// The ring numbers events from 0 in every run; the journal numbers them across runs. Live ring
/// sequence <c>r</c> is journal sequence <see cref="LiveBase"/> + <c>r</c>; ring sequences below
/// <see cref="FirstLive"/> were replayed from the journal and are not journaled again.
/// </remarks>
public sealed class DaemonJournal : IDurableHorizon, IDisposable
{
    /// <summary>The journal stage's name in the graph, <c>info</c> and <c>health</c>: the table's
    /// name in brackets, which no component can be called, so it never meets a transform's.</summary>
    public const string StageName = "[journal]";

    private readonly JournalWriter _writer;

    private DaemonJournal(JournalSettings settings, JournalWriter writer, long liveBase, long wallOffsetNanos, JournalState recovered)
    {
        Settings = settings;
        _writer = writer;
        _numbering = new JournalNumbering(liveBase);
        WallOffsetNanos = wallOffsetNanos;
        TornBytes = recovered.TornBytes;
        DamagedSegments = recovered.Damage.Count;
        DamageAtStart = recovered.Damage;
        _gapsAtStart = recovered.Gaps;
        foreach (JournalGap gap in recovered.Gaps)
        {
            LostAtStart += gap.Count;
        }

        // Counted from the start: stats show the loss before any replay or live event.
        _recordsLost = LostAtStart;
        writer.OnDurable = TellListeners;
    }

    public JournalSettings Settings { get; }

    /// <summary>The largest event a source accepts: what a replayed record may decode to.</summary>
    public int MaxEventBytes { get; private init; }

    /// <summary>The journal sequence live ring sequence 0 would carry: one past the last one recovered
    /// at start, less the events replayed (live ring sequence <see cref="FirstLive"/> carries that one).</summary>
    public long LiveBase => _numbering.LiveBase;

    /// <summary>Ring sequences below this were replayed at start; 0 without a replay.</summary>
    public long FirstLive => _numbering.FirstLive;

    /// <summary>The journal sequence the first live event carries: one past the last one recovered at start.</summary>
    public long NextSequence { get; private set; }

    private readonly JournalNumbering _numbering;
    private SequenceMap? _map;

    /// <summary>Unix time minus the monotonic clock that slots carry, at open: the journal keeps ingest times as Unix time.</summary>
    public long WallOffsetNanos { get; }

    /// <summary>Bytes of a torn final write zeroed at start (never durable, so never acknowledged).</summary>
    public long TornBytes { get; }

    /// <summary>Segments whose header was damaged at start (set aside as <c>NAME.damaged</c>, never deleted).</summary>
    public int DamagedSegments { get; }

    /// <summary>Damage met at start (segment headers, and bytes inside the last segment that are not
    /// intact records), each naming segment and offset: what the start logs, once.</summary>
    public IReadOnlyList<JournalDamage> DamageAtStart { get; }

    /// <summary>Records the damage met at start lost (in <see cref="RecordsLost"/> from the start).</summary>
    public long LostAtStart { get; }

    private readonly IReadOnlyList<JournalGap> _gapsAtStart;

    /// <summary>Events appended to the ring from the journal at start (<c>journal_replayed_total</c>).</summary>
    public long Replayed => Volatile.Read(ref _replayed);

    /// <summary>Records the journal lost to damage, found at start or while replaying (<c>journal_records_lost_total</c>).</summary>
    public long RecordsLost => Volatile.Read(ref _recordsLost);

    private readonly List<SinkCheckpointer> _checkpointers = [];
    private readonly List<AggregateCheckpointer> _aggregates = [];
    private long _replayed;
    private long _recordsLost;

    /// <summary>The highest ring sequence of this run that is durable in the journal; -1 before the first.</summary>
    /// <remarks>What acknowledgements wait for. Acquire read of the syncer's release write; no lock, no allocation.</remarks>
    public long DurableRingSequence => Math.Max(FirstLive - 1, _writer.DurableSequence - LiveBase);

    /// <summary>I/O threads waiting to acknowledge: replaced whole under the lock, read without it by the syncer.</summary>
    private IDurableHorizonListener[] _listeners = [];
    private readonly Lock _listenersLock = new();

    public void Subscribe(IDurableHorizonListener listener)
    {
        lock (_listenersLock)
        {
            _listeners = [.. _listeners, listener];
        }
    }

    public void Unsubscribe(IDurableHorizonListener listener)
    {
        lock (_listenersLock)
        {
            _listeners = Array.FindAll(_listeners, l => !ReferenceEquals(l, listener));
        }
    }

    private void TellListeners()
    {
        foreach (IDurableHorizonListener listener in Volatile.Read(ref _listeners))
        {
            listener.DurableHorizonMoved();
        }
    }

    /// <summary>The last journal sequence that is durable (<c>journal_durable_sequence</c>); -1 for an empty journal.</summary>
    public long DurableSequence => _writer.DurableSequence;

    public long Appended => _writer.Appended;

    public long BytesWritten => _writer.BytesWritten;

    /// <summary>Segment files on disk (<c>journal_segments</c>).</summary>
    public int SegmentCount => _writer.Segments.Count;

    /// <summary>Bytes the journal holds on disk: every segment is allocated whole (<c>journal_bytes</c>).</summary>
    public long DiskBytes => (long)SegmentCount * Settings.SegmentBytes.Bytes;

    /// <summary>How long each sync took (<c>journal_sync_seconds</c>).</summary>
    public Stages.Metrics.LatencyHistogram SyncLatency => _writer.SyncLatency;

    /// <summary>Why the journal cannot go on (a full disk, a failing write), or null: what <c>health</c> names.</summary>
    public string? Problem => _writer.Problem;

    /// <summary>
    /// Recovers the journal directory (creating it, locking it, zeroing a torn tail) and opens its
    /// writer. Throws <see cref="JournalException"/> with one line when it cannot be used.
    /// </summary>
    public static DaemonJournal Open(JournalSettings settings, int maxEventBytes)
    {
        ArgumentNullException.ThrowIfNull(settings);
        JournalOptions options = settings.Options(maxEventBytes);
        JournalState state = JournalState.Recover(options);
        JournalWriter writer;
        try
        {
            writer = new JournalWriter(options, state);
        }
        catch (Exception e) when (e is IOException or ArgumentException)
        {
            state.Release();
            throw new JournalException($"journal: cannot open {settings.Directory}: {e.Message}");
        }

        long wallOffset = MonotonicClock.UnixNanos() - MonotonicClock.NowNanos();
        return new DaemonJournal(settings, writer, state.LastSequence + 1, wallOffset, state) { MaxEventBytes = maxEventBytes };
    }

    /// <summary>The journal stage's handler for a graph on <paramref name="ring"/>: one per graph, all on this writer.</summary>
    public JournalHandler Handler(EventReader ring) => new(ring, _writer, _numbering, WallOffsetNanos);

    /// <summary>The journal sequence ring sequence <paramref name="ring"/> of this run carries.</summary>
    public long JournalOf(long ring) => ring < _numbering.FirstLive && _map is { } map ? map.JournalOf(ring) : _numbering.LiveBase + ring;

    /// <summary>
    /// Replays the journal into <paramref name="ring"/> from just after the oldest checkpoint of the
    /// file sinks opened so far, before any live event (the graphs run, the sources are not bound).
    /// A first pass decodes without publishing, to number the ring before any stage sees a replayed
    /// event: where live events start, and for each sink the first ring sequence past its checkpoint
    /// (what it delivered before is skipped). A sink with no checkpoint yet takes no replayed event.
    /// </summary>
    /// <returns>Events replayed.</returns>
    public long Replay(EventRing ring, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(ring);
        ArgumentNullException.ThrowIfNull(log);
        IReadOnlyList<SinkCheckpointer> sinks = Checkpointers;
        IReadOnlyList<AggregateCheckpointer> aggregates = Aggregates;
        long next = _numbering.LiveBase;
        NextSequence = next;
        long from = long.MaxValue;
        foreach (SinkCheckpointer sink in sinks)
        {
            sink.SkipBelowRing = long.MaxValue;
            if (sink.AtStart is { } c)
            {
                from = Math.Min(from, c.Sequence + 1);
            }
        }

        var aggregateSkip = new long[aggregates.Count];
        for (int i = 0; i < aggregates.Count; i++)
        {
            aggregateSkip[i] = long.MaxValue;
            if (aggregates[i].AtStart is { } c)
            {
                from = Math.Min(from, c.Sequence);
            }
        }

        if (from >= next)
        {
            foreach (SinkCheckpointer sink in sinks)
            {
                sink.SkipBelowRing = 0;
            }

            StartAggregates(aggregates, aggregateSkip, 0);
            return 0;
        }

        // Pass 1: number the ring as pass 2 will publish (the same records decode the same way).
        var map = new SequenceMap();
        long count = 0;
        var damage = new List<JournalDamage>();
        using (var reader = new JournalReader(JournalState.ListSegments(Settings.Directory, damage), from))
        {
            var slot = default(EventSlot);
            while (reader.TryRead(out JournalEntry entry, out ReadOnlySpan<byte> payload))
            {
                if (entry.Sequence >= next)
                {
                    break;
                }

                slot = default;
                if (!JournalReplay.Decode(payload, (EventFlags)entry.Flags, MaxEventBytes, ref slot))
                {
                    continue;
                }

                map.Start(count, entry.Sequence);
                foreach (SinkCheckpointer sink in sinks)
                {
                    if (sink.SkipBelowRing == long.MaxValue && sink.AtStart is { } c && entry.Sequence > c.Sequence)
                    {
                        sink.SkipBelowRing = count;
                    }
                }

                for (int i = 0; i < aggregates.Count; i++)
                {
                    if (aggregateSkip[i] == long.MaxValue && aggregates[i].AtStart is { } c && entry.Sequence >= c.Sequence)
                    {
                        aggregateSkip[i] = count;
                    }
                }

                count++;
            }
        }

        map.StartLive(count, next);
        foreach (SinkCheckpointer sink in sinks)
        {
            // Past the end of the replay: nothing replayed is for it (no checkpoint, or one at the end).
            sink.SkipBelowRing = Math.Min(sink.SkipBelowRing, count);
        }

        _map = map;
        _numbering.FirstLive = count;
        _numbering.LiveBase = next - count;
        StartAggregates(aggregates, aggregateSkip, count);
        if (count == 0)
        {
            return 0;
        }

        log($"journal: replaying {count} events from sequence {from} (the oldest checkpoint)");
        long replayed;
        using (var reader = new JournalReader(JournalState.ListSegments(Settings.Directory, damage), from))
        {
            // Nothing past `next` yet: the journal stage appends only live events, and none is published before this returns.
            JournalReplay.Result result = JournalReplay.Run(reader, ring, MaxEventBytes, next, WallOffsetNanos,
                n => log($"journal: replayed {n} of {count} events"));
            replayed = result.Replayed;
            AddLost(reader.LostRecords - CountedAtStart(from));
            foreach (JournalDamage d in reader.Damage)
            {
                if (!DamageAtStart.Contains(d))
                {
                    log($"journal: damage in {d}; the records lost are counted in journal_records_lost_total (see eventd journal verify)");
                }
            }
        }

        AddReplayed(replayed);
        log($"journal: replayed {replayed} events; live events start at sequence {next}");
        return replayed;
    }

    /// <summary>
    /// Tells each aggregate, before any replayed event reaches it, where its own replay starts (ring
    /// sequences below <paramref name="skip"/> are skipped: past the end of the replay when it has no
    /// checkpoint), which ring sequences are replayed, and the state its checkpoint restores.
    /// </summary>
    private void StartAggregates(IReadOnlyList<AggregateCheckpointer> aggregates, long[] skip, long replayed)
    {
        for (int i = 0; i < aggregates.Count; i++)
        {
            AggregateProgress progress = aggregates[i].Progress;
            progress.SkipBelowRing = Math.Min(skip[i], replayed);
            progress.ReplayedBelowRing = replayed;
            progress.IngestToUnixNanos = WallOffsetNanos;
            if (aggregates[i].AtStart is { } c)
            {
                progress.RestoreMark = c.Mark;
                progress.DeliveredStart = c.Offset;
            }
        }
    }

    /// <summary>
    /// Deletes the oldest segments while the journal holds more than <c>retention_bytes</c>, only those
    /// every consumer of the main ring has passed (<paramref name="passedRingSequence"/>, a ring sequence
    /// of this run); and, with <c>when_full = "drop_oldest"</c> while the disk is full, the oldest segment
    /// whatever was passed, its records counted as lost. Any thread but the stage's; returns the number deleted.
    /// </summary>
    /// <remarks>
    /// A sink that checkpoints (the file sink) has passed an event only once its synced checkpoint says
    /// so: handed to the page cache is not delivered. Sinks that do not checkpoint yet count by their
    /// stage's position, as before.
    /// </remarks>
    public int Retain(long passedRingSequence)
    {
        foreach (AggregateCheckpointer aggregate in Aggregates)
        {
            aggregate.Commit();
        }

        long passed = Math.Min(LiveBase + passedRingSequence, CheckpointedSequence());
        int deleted = _writer.Retain(passed, Settings.RetentionBytes.Bytes);
        if (Settings.WhenFull == JournalWhenFull.DropOldest && _writer.Problem is not null)
        {
            IReadOnlyList<JournalSegment> segments = _writer.Segments;
            if (segments.Count >= 2)
            {
                // A segment's records run up to one before the next segment's first; those already
                // passed were delivered, the rest are lost.
                long last = segments[1].FirstSequence - 1;
                long lost = Math.Max(0, last - Math.Max(segments[0].FirstSequence - 1, passed));
                int dropped = _writer.Retain(last, retentionBytes: 0);
                if (dropped > 0)
                {
                    AddLost(lost);
                    deleted += dropped;
                }
            }
        }

        return deleted;
    }

    /// <summary>
    /// Records lost in gaps that start-up recovery already counted and that a replay from
    /// <paramref name="from"/> counts again: the reader counts a gap once it has read the record before it.
    /// </summary>
    private long CountedAtStart(long from)
    {
        long counted = 0;
        foreach (JournalGap gap in _gapsAtStart)
        {
            if (gap.From - 1 >= from)
            {
                counted += gap.Count;
            }
        }

        return counted;
    }

    /// <summary>Counts events replayed into the ring at start.</summary>
    public void AddReplayed(long events) => Interlocked.Add(ref _replayed, events);

    /// <summary>Counts records lost to damage (start-up recovery, replay).</summary>
    public void AddLost(long records) => Interlocked.Add(ref _recordsLost, records);

    /// <summary>Writes what is buffered and waits until it is durable (at most <paramref name="timeout"/>), then stops the writer's threads.</summary>
    /// <returns>false when something written could not be made durable in time.</returns>
    public bool Close(TimeSpan timeout) => _writer.Close(timeout);

    /// <summary>
    /// The checkpoint of sink <paramref name="sink"/> (<c>sink-NAME.checkpoint</c> in the journal's
    /// directory), opened on first use and kept across reloads, so a sink a reload rebuilds goes on
    /// from the same file and generation.
    /// </summary>
    public SinkCheckpointer Checkpointer(string sink) => Checkpointer(sink, windows: false);

    private SinkCheckpointer Checkpointer(string sink, bool windows)
    {
        ArgumentException.ThrowIfNullOrEmpty(sink);
        lock (_checkpointers)
        {
            foreach (SinkCheckpointer existing in _checkpointers)
            {
                if (existing.Sink == sink)
                {
                    return existing;
                }
            }

            string path = System.IO.Path.Combine(Settings.Directory, CheckpointFileName(sink));
            // No checkpoint file at all (deleted, or a sink new to this journal): nothing says what the
            // sink holds, so it takes every record the journal still has, from the oldest, into its
            // file as it is (at least once). A file that exists with no intact slot is a sink that
            // never reached its first checkpoint: it takes no replayed event, as before. A sink behind
            // an aggregate counts windows, not records: it starts from its aggregate's checkpoint.
            bool existed = File.Exists(path);
            var file = SinkCheckpoint.Open(path);
            var checkpointer = new SinkCheckpointer(sink, file, this, windows) { AtStart = file.Last ?? (existed || windows ? null : FromOldest) };
            _checkpointers.Add(checkpointer);
            return checkpointer;
        }
    }

    /// <summary>What a sink whose checkpoint file is missing starts from: before the oldest record, the
    /// file kept whole (<see cref="SinkCheckpointer.TakeStartOffset"/> cuts nothing).</summary>
    private static readonly Checkpoint FromOldest = new(-1, -1);

    /// <summary>The checkpoints of the main stream's sinks opened so far, whose sequences are the journal's (replay, retention, stats).</summary>
    public IReadOnlyList<SinkCheckpointer> Checkpointers
    {
        get
        {
            lock (_checkpointers)
            {
                return [.. _checkpointers.Where(c => !c.Windows)];
            }
        }
    }

    /// <summary>The checkpoints of file sinks behind an aggregate opened so far (their sequences are window starts).</summary>
    public IReadOnlyList<SinkCheckpointer> WindowCheckpointers
    {
        get
        {
            lock (_checkpointers)
            {
                return [.. _checkpointers.Where(c => c.Windows)];
            }
        }
    }

    /// <summary>
    /// The checkpoint of sink <paramref name="sink"/> behind an aggregate, in whole windows
    /// (<see cref="SinkCheckpointer.Windows"/>): the same file name and the same slots as a sink of the
    /// main stream, its sequence the start of the last window delivered.
    /// </summary>
    public SinkCheckpointer WindowCheckpointer(string sink) => Checkpointer(sink, windows: true);

    /// <summary>
    /// The checkpoint of aggregate <paramref name="aggregate"/> (<c>aggregate-NAME.checkpoint</c>),
    /// opened on first use and kept across reloads. A new one starts at the next event: the aggregate
    /// has nothing open before it.
    /// </summary>
    public AggregateCheckpointer Aggregate(string aggregate)
    {
        ArgumentException.ThrowIfNullOrEmpty(aggregate);
        lock (_checkpointers)
        {
            foreach (AggregateCheckpointer existing in _aggregates)
            {
                if (existing.Aggregate == aggregate)
                {
                    return existing;
                }
            }

            var file = SinkCheckpoint.Open(System.IO.Path.Combine(Settings.Directory, CheckpointFileName(aggregate, "aggregate-")));
            if (file.Last is null)
            {
                // Before the replay the next live event is LiveBase; after it (a reload adding an
                // aggregate) at least one past what is durable.
                int errno = file.Write(new Checkpoint(Math.Max(LiveBase + FirstLive, DurableSequence + 1), long.MinValue, long.MinValue));
                if (errno != 0)
                {
                    file.Dispose();
                    throw new JournalException($"checkpoint: cannot write {file.Path}: {JournalWriter.Errno(errno)}");
                }
            }

            var checkpointer = new AggregateCheckpointer(aggregate, file, this);
            _aggregates.Add(checkpointer);
            return checkpointer;
        }
    }

    /// <summary>The aggregates' checkpoints opened so far.</summary>
    public IReadOnlyList<AggregateCheckpointer> Aggregates
    {
        get
        {
            lock (_checkpointers)
            {
                return [.. _aggregates];
            }
        }
    }

    /// <summary>A checkpoint file's name: the sink's name, any byte but a letter, digit, '-' or '_' written
    /// as %XX, so a quoted TOML key can neither leave the directory nor meet another sink's file.</summary>
    public static string CheckpointFileName(string sink) => CheckpointFileName(sink, "sink-");

    private static string CheckpointFileName(string sink, string prefix)
    {
        var name = new System.Text.StringBuilder(prefix);
        foreach (byte b in System.Text.Encoding.UTF8.GetBytes(sink))
        {
            if (char.IsAsciiLetterOrDigit((char)b) || b == '-' || b == '_')
            {
                name.Append((char)b);
            }
            else
            {
                name.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return name.Append(".checkpoint").ToString();
    }

    public void Dispose()
    {
        _writer.Dispose();
        lock (_checkpointers)
        {
            foreach (SinkCheckpointer checkpointer in _checkpointers)
            {
                checkpointer.Dispose();
            }

            foreach (AggregateCheckpointer aggregate in _aggregates)
            {
                aggregate.Dispose();
            }

            _checkpointers.Clear();
            _aggregates.Clear();
        }
    }

    /// <summary>
    /// The journal sequence every checkpointing sink has delivered, by its synced checkpoint; long.MaxValue
    /// when no sink checkpoints. A sink that has not written one yet holds retention at its start.
    /// </summary>
    private long CheckpointedSequence()
    {
        long passed = long.MaxValue;
        lock (_checkpointers)
        {
            foreach (SinkCheckpointer checkpointer in _checkpointers)
            {
                if (!checkpointer.Windows)
                {
                    passed = Math.Min(passed, checkpointer.Sequence);
                }
            }

            foreach (AggregateCheckpointer aggregate in _aggregates)
            {
                // The replay starts at its sequence: what is before it is passed.
                passed = Math.Min(passed, aggregate.Sequence - 1);
            }
        }

        return passed;
    }
}
