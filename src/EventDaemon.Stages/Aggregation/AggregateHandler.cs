using System.Buffers.Text;
using System.Runtime.CompilerServices;
using EventDaemon.Events;
using EventDaemon.Events.Fields;
using EventDaemon.Events.Ingest;
using EventDaemon.Ring;
using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;

namespace EventDaemon.Stages.Aggregation;

/// <summary>
/// The <c>aggregate</c> transform: folds every event that reaches it into its group of its
/// tumbling window ([start, end), aligned to Unix-epoch multiples of the window), and publishes
/// one JSON line per group into its own output ring when the window closes: by the clock
/// (processing time, even without traffic) or when the watermark (max event time − allowed
/// lateness) passes the window's end (event time). Later events are counted in
/// <c>events_late_total</c> and dropped. Everything open is emitted at shutdown (drain).
/// </summary>
public partial struct AggregateHandler : IEventHandler<EventSlot>
{
    /// <summary>Events between the look-ahead's prefetch steps (see <see cref="LookAhead"/>): about a
    /// memory latency of other work each, at the hundreds of nanoseconds an event costs here.</summary>
    internal const int AheadStep = 2;

    private readonly EventReader _input;
    private readonly EventRing _output;
    private readonly AggregateSpec _spec;
    private readonly Reach _reach;
    private readonly StageMetrics _metrics;
    private readonly AggregateState _state;

    // The group_by parts bound to the input's catalog, and the catalog's index of this key (its
    // hash then comes from the reader threads), or -1 (hashed here).
    private readonly KeyPart[] _keyParts;
    private readonly int _keyIndex;
    private readonly Partition _partition;
    private readonly ulong _streamSources;

    /// <summary>With a journal and one thread: where a replay would start after each emitted window, and what a replay restores; null otherwise.</summary>
    private readonly AggregateProgress? _progress;

    /// <param name="partition">This thread's share of the groups when the aggregate runs on several
    /// (by group key); every thread still sees every event's time, so all close windows at the same events.</param>
    /// <param name="streamSources">The sources (bits of source ids) of the aggregate's input stream:
    /// each of their events advances the event-time watermark, whether or not a filter before the
    /// aggregate lets it through.</param>
    /// <param name="progress">With a journal, on one thread only (the windows of several threads interleave
    /// in the output): told where a replay starts after each window, and read once at the first event.</param>
    public AggregateHandler(EventReader input, EventRing output, AggregateSpec spec, Reach reach, StageMetrics metrics,
        Partition partition = default, ulong streamSources = ulong.MaxValue, AggregateProgress? progress = null)
    {
        _progress = progress;
        _input = input;
        _output = output;
        _spec = spec;
        _reach = reach;
        _metrics = metrics;
        _state = new AggregateState(spec);
        _keyParts = Array.ConvertAll(spec.KeyParts(), p => p.In(input.Catalog));
        _keyIndex = input.Catalog.KeyIndexOf(_keyParts);
        _partition = partition.In(input.Catalog);
        _streamSources = streamSources;
    }

    /// <summary>The group table, for tests and stats.</summary>
    public readonly int OpenGroups => _state.Groups.Count;

    /// <summary>Native bytes the group table has touched (its resident memory, bounded by max_groups), and the most groups it held at once.</summary>
    public readonly (long Bytes, int PeakGroups) GroupMemory => (_state.Groups.BytesTouched, _state.Groups.PeakGroups);

    public readonly void OnStart()
    {
    }

    public readonly void OnEvent(ref EventSlot slot, long sequence, bool endOfBatch)
    {
        AggregateState s = _state;
        if (sequence < s.SkipBelow)
        {
            if (s.SkipBelow == long.MaxValue)
            {
                Restore();
                OnEvent(ref slot, sequence, endOfBatch);
            }

            return;
        }

        s.LastSequence = sequence;
        if (_keyIndex >= 0)
        {
            LookAhead(sequence, s);
        }

        if (_reach.Delivers(ref slot))
        {
            // One view for the thread's share and the group key alike.
            var view = _input.View(ref slot, sequence);
            if (_partition.Owns(in view, sequence))
            {
                ref StageCounters counters = ref _metrics.Counters;
                Volatile.Write(ref counters.Processed, counters.Processed + 1);
                Fold(ref slot, in view, s, sequence, endOfBatch);
            }
        }

        if (_spec.EventTime && ((_streamSources >> slot.SourceId) & 1) != 0)
        {
            Advance(slot.Timestamp);
        }

        if (endOfBatch)
        {
            s.ClockValid = false;
            if (!_spec.EventTime)
            {
                // While replaying, the journaled ingest times are the clock: windows close as they did.
                CloseByClock(sequence < s.ReplayedBelow ? s.Clock : _state.Now());
            }
        }
    }

    public readonly void OnTimeout(long sequence)
    {
        if (!_spec.EventTime)
        {
            if (_state.LastSequence + 1 < _state.ReplayedBelow)
            {
                return; // replay not finished: the wall clock would close its windows early
            }

            CloseByClock(_state.Now());
        }
        else
        {
            // The turn a hand-back asked for (see EmitClosed): the windows closed on a producer's
            // thread are published here.
            EmitClosed();
        }
    }

    public readonly void OnShutdown()
    {
        // Drain: every open window is emitted, oldest first.
        AggregateState s = _state;
        while (s.OpenCount > 0)
        {
            Emit(s.Oldest());
        }

        s.Groups.Dispose();
    }

    /// <summary>
    /// Prefetches the groups of the events ahead (<see cref="GroupTable.PrefetchIndex"/>): the
    /// index slot of the event <see cref="AheadStep"/>·3 sequences on, the entry of the one
    /// <see cref="AheadStep"/>·2 on, the sketch counter of the one <see cref="AheadStep"/> on.
    /// What it reads of slots ahead of the barrier may not be published yet: a wrong guess only
    /// brings in a line that is not used. A filter before the aggregate may drop some of them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void LookAhead(long sequence, AggregateState s)
    {
        long far = sequence + (3 * AheadStep);
        if (!_input.TryPeekAhead(far, _keyIndex, out uint hash, out double value, out long timestamp))
        {
            return;
        }

        Span<Ahead> ahead = s.Ahead;
        ref Ahead next = ref ahead[(int)(far & (Ahead.Slots - 1))];
        // In processing time the event will (almost always) join the window of the last one.
        next.Window = _spec.EventTime ? timestamp - Mod(timestamp, _spec.WindowNanos) : s.LastStart;
        next.Hash = hash;
        next.Value = value;
        GroupTable groups = s.Groups;
        groups.PrefetchIndex(next.Window, hash);
        ref Ahead middle = ref ahead[(int)((sequence + (2 * AheadStep)) & (Ahead.Slots - 1))];
        groups.PrefetchEntry(middle.Window, middle.Hash);
        if (_spec.NeedsSketch)
        {
            ref Ahead near = ref ahead[(int)((sequence + AheadStep) & (Ahead.Slots - 1))];
            groups.PrefetchSketch(near.Window, near.Hash, near.Value);
        }
    }

    private readonly void Fold(ref EventSlot slot, in EventView view, AggregateState s, long sequence, bool endOfBatch)
    {
        long time;
        if (_spec.EventTime)
        {
            time = slot.Timestamp;
        }
        else if (sequence < s.ReplayedBelow)
        {
            // Replayed: the clock it met the first time was (about) its ingest time, kept in the journal.
            time = slot.IngestNanos + s.IngestToUnix;
            s.Clock = time;
        }
        else
        {
            if (!s.ClockValid)
            {
                s.Clock = s.Now();
                s.ClockValid = true;
            }

            time = s.Clock;
        }

        long window = _spec.WindowNanos;
        long start = time - Mod(time, window);
        if (start < s.ClosedBefore && !_spec.EventTime)
        {
            // The wall clock stepped back (NTP) after a window closed: processing time has no late
            // events, so the event joins the oldest window that may still open.
            start = s.ClosedBefore;
        }

        if (start < s.ClosedBefore)
        {
            ref StageCounters c = ref _metrics.Counters;
            Volatile.Write(ref c.Late, c.Late + 1);
            return;
        }

        if (!_spec.EventTime && s.OpenCount > 0 && start > s.Windows[0].Start)
        {
            CloseByClock(time);
        }

        s.LastStart = start;
        Span<byte> key = stackalloc byte[AggregateSpec.MaxKeyBytes];
        int keyLength = GroupKey.Build(in view, _keyParts, key);
        int w = keyLength < 0 ? -1 : s.WindowIndex(start, sequence, _spec.EventTime ? s.Watermark : s.ClosedBefore);
        bool added = false;
        // The key's hash comes from the reader thread's row; without one (a ring without this key
        // in its catalog) it is made here with the same function, so a group has one hash either way.
        int entry = -1;
        if (w >= 0)
        {
            ulong hash = view.TryGetKeyHash(_keyIndex, out uint fromRow) ? fromRow : GroupTable.HashKey(key[..keyLength]);
            entry = s.Groups.FindOrAdd(start, key[..keyLength], hash, out added);
        }

        if (entry < 0)
        {
            // Group key too long, too many open windows, or max_groups reached: counted by cause, never grown.
            ref StageCounters c = ref _metrics.Counters;
            ref long cause = ref keyLength < 0 ? ref c.DroppedKeyTooLong : ref w < 0 ? ref c.DroppedOpenWindows : ref c.DroppedMaxGroups;
            Volatile.Write(ref cause, cause + 1);
        }
        else
        {
            ref GroupHeader g = ref s.Groups.Header(entry);
            double value = (slot.Flags & EventFlags.HasValue) != 0 ? slot.Value : double.NaN;
            if (added)
            {
                s.Link(w, entry);
            }

            Update(ref g, entry, value, added, s);
        }

        _metrics.Latency.RecordSampled(sequence, endOfBatch, slot.IngestNanos);
    }

    /// <summary>Moves the event-time watermark to <paramref name="timestamp"/> − allowed_lateness if
    /// that is later, emitting every window that ends at or before it.</summary>
    private readonly void Advance(long timestamp)
    {
        AggregateState s = _state;
        long window = _spec.WindowNanos;
        if (timestamp - _spec.LatenessNanos > s.Watermark)
        {
            s.Watermark = timestamp - _spec.LatenessNanos;
            // A window ends at or before the watermark exactly when it starts before the
            // watermark's own window: those are closed from now on, whenever they are published.
            long closed = s.Watermark - Mod(s.Watermark, window);
            if (closed > s.ClosedBefore)
            {
                s.ClosedBefore = closed;
            }

            EmitClosed();
        }
    }

    private readonly void Update(ref GroupHeader g, int entry, double value, bool first, AggregateState s)
    {
        if (first)
        {
            g.Min = double.PositiveInfinity;
            g.Max = double.NegativeInfinity;
        }

        g.Count++;
        if (double.IsNaN(value))
        {
            return; // an event without a value counts, but has nothing to sum
        }

        g.Sum += value;
        g.Min = Math.Min(g.Min, value);
        g.Max = Math.Max(g.Max, value);
        g.Valued++;
        if (_spec.NeedsSketch)
        {
            s.Groups.AddQuantileValue(entry, value);
        }
    }

    private readonly void CloseByClock(long now)
    {
        AggregateState s = _state;
        long current = now - Mod(now, _spec.WindowNanos);
        if (current > s.ClosedBefore)
        {
            s.ClosedBefore = current;
        }

        EmitClosed();
    }

    /// <summary>
    /// Publishes every window that starts before <see cref="AggregateState.ClosedBefore"/>, oldest
    /// first — on this stage's own thread only. On a producer's thread (idle hand-off) the stage is
    /// handed back instead and its thread publishes them in the turn that follows: the output waits
    /// when its ring is full (a sink behind the aggregate that is stuck), and that wait must never
    /// hold a source's thread. Nothing else changes meanwhile: the windows are closed (later events
    /// for them are late, or in processing time join the next window), only not yet published.
    /// </summary>
    private readonly void EmitClosed()
    {
        AggregateState s = _state;
        if (s.OpenCount == 0 || s.Oldest().Start >= s.ClosedBefore || StageHandoff.TryHandBack())
        {
            return;
        }

        while (s.OpenCount > 0 && s.Oldest().Start < s.ClosedBefore)
        {
            Emit(s.Oldest());
        }
    }

    /// <summary>Publishes one line per group of the window into the output ring, then frees the groups.</summary>
    private readonly void Emit(OpenWindow window)
    {
        AggregateState s = _state;
        byte[] line = s.Line;
        // A group's exact values are sorted here for its quantiles (at most BlockValues of them).
        Span<double> scratch = stackalloc double[GroupTable.BlockValues];
        // Only on this stage's own thread (see EmitClosed), and it wakes the output ring's idle
        // stages rather than running them: a sink behind the aggregate never runs on this thread.
        IngestBatch batch = _output.BeginBatch(runIdleStages: false);
        try
        {
            long now = MonotonicClock.NowNanos();
            // Emit only ever takes the oldest window (Windows[0]); the others stay open.
            bool bulk = s.Groups.RemovesInBulk(window.Groups);
            int windowLength = AggregateOutput.WriteWindow(_spec, window.Start, line);
            int entry = window.Head;
            while (entry >= 0)
            {
                ref GroupHeader g = ref s.Groups.Header(entry);
                var slot = new EventSlot
                {
                    Timestamp = window.Start,
                    IngestNanos = now,
                    Flags = EventFlags.Generated,
                };
                GroupQuantiles quantiles = _spec.NeedsSketch && g.Valued > 0 ? s.Groups.Quantiles(entry, scratch) : default;
                int length = AggregateOutput.WriteGroup(_spec, windowLength, ref g, s.Groups.Key(entry), quantiles, line, ref slot);
                batch.TryAppend(ref slot, line.AsSpan(0, length), wait: true);
                int next = g.NextInWindow;
                if (bulk)
                {
                    s.Groups.Release(entry);
                }
                else
                {
                    s.Groups.Remove(entry);
                }

                entry = next;
            }

            if (bulk)
            {
                Span<int> heads = stackalloc int[AggregateSpec.MaxOpenWindows];
                for (int i = 1; i < s.OpenCount; i++)
                {
                    heads[i - 1] = s.Windows[i].Head;
                }

                s.Groups.RebuildIndex(heads[..(s.OpenCount - 1)]);
            }
        }
        finally
        {
            batch.Dispose();
        }

        s.CloseOldest();
        if (_progress is { } progress)
        {
            Emitted(progress, window.Start);
        }
    }

    /// <summary>
    /// Tells the journal where a replay recomputing every window after <paramref name="start"/> begins:
    /// the first event of the open window that began earliest (in event time a later window may have
    /// begun before an earlier one), with the state just before it; the next event when none is open.
    /// </summary>
    private readonly void Emitted(AggregateProgress progress, long start)
    {
        AggregateState s = _state;
        long from = s.LastSequence + 1;
        long mark = _spec.EventTime ? s.Watermark : s.ClosedBefore;
        for (int i = 0; i < s.OpenCount; i++)
        {
            if (s.Windows[i].FirstSequence < from)
            {
                from = s.Windows[i].FirstSequence;
                mark = s.Windows[i].MarkBefore;
            }
        }

        progress.Add(start, from, mark);
    }

    /// <summary>
    /// At the first event: takes what the journal decided before publishing (nothing without a
    /// journal): the ring sequences to skip, those replayed, and the state to go on from. Windows
    /// its sinks delivered stay closed, so they are never emitted again.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly void Restore()
    {
        AggregateState s = _state;
        s.SkipBelow = 0;
        if (_progress is not { } p)
        {
            return;
        }

        s.SkipBelow = p.SkipBelowRing;
        s.ReplayedBelow = p.ReplayedBelowRing;
        s.IngestToUnix = p.IngestToUnixNanos;
        s.LastSequence = p.SkipBelowRing - 1;
        long window = _spec.WindowNanos;
        if (p.RestoreMark != long.MinValue)
        {
            if (_spec.EventTime)
            {
                s.Watermark = p.RestoreMark;
                s.ClosedBefore = p.RestoreMark - Mod(p.RestoreMark, window);
            }
            else
            {
                s.ClosedBefore = p.RestoreMark;
            }
        }

        if (p.DeliveredStart != long.MinValue)
        {
            s.ClosedBefore = Math.Max(s.ClosedBefore, p.DeliveredStart + window);
        }
    }

    /// <summary>Non-negative remainder, so windows of negative timestamps still align to the epoch.</summary>
    private static long Mod(long time, long window)
    {
        long r = time % window;
        return r < 0 ? r + window : r;
    }
}

/// <summary>An open window: its start and the first group of its list.</summary>
internal struct OpenWindow
{
    public long Start;
    public int Head;
    public int Tail;

    /// <summary>Groups on its list.</summary>
    public int Groups;

    /// <summary>The ring sequence of the first event folded into it: a replay recomputing it starts there.</summary>
    public long FirstSequence;

    /// <summary>The watermark (processing time: the closed-before bound) just before that event: what such a replay restores.</summary>
    public long MarkBefore;

    public readonly long End(long window) => Start + window;
}

/// <summary>The aggregate's mutable state: one per stage, touched only by the stage thread.</summary>
internal sealed partial class AggregateState
{
    public AggregateState(AggregateSpec spec)
    {
        Groups = new GroupTable(spec.MaxGroups, spec.NeedsSketch);
        Windows = new OpenWindow[AggregateSpec.MaxOpenWindows];
        ClosedBefore = long.MinValue;
        Watermark = long.MinValue;
        Line = new byte[AggregateOutput.MaxLength(spec)];
    }

    public GroupTable Groups { get; }

    /// <summary>Open windows sorted by start (oldest first).</summary>
    public OpenWindow[] Windows { get; }

    public int OpenCount;

    /// <summary>Every window starting before this has been emitted.</summary>
    public long ClosedBefore;

    public long Watermark;

    public long Clock;

    public bool ClockValid;

    /// <summary>Ring sequences below this are skipped (<see cref="AggregateProgress.SkipBelowRing"/>);
    /// <see cref="long.MaxValue"/> until the first event reads the journal's decision.</summary>
    public long SkipBelow = long.MaxValue;

    /// <summary>Ring sequences below this were replayed: processing time reads their ingest time.</summary>
    public long ReplayedBelow;

    /// <summary>Unix time minus the monotonic clock of ingest times.</summary>
    public long IngestToUnix;

    /// <summary>The last ring sequence this stage took (folded or not).</summary>
    public long LastSequence = -1;

    /// <summary>The window of the last event folded: where the events ahead are guessed to go.</summary>
    public long LastStart;

    /// <summary>What <see cref="AggregateHandler"/>'s look-ahead read of the events ahead, by sequence.</summary>
    public Ahead[] Ahead { get; } = new Ahead[Aggregation.Ahead.Slots];

    /// <summary>One output line, sized for the longest this spec can write (<see cref="AggregateOutput.MaxLength"/>).</summary>
    public byte[] Line { get; }

    /// <summary>Wall-clock Unix nanoseconds: the processing-time clock.</summary>
    public long Now() => TestClock is { } clock ? clock() : MonotonicClock.UnixNanos();

    public OpenWindow Oldest() => Windows[0];

    /// <summary>The index of the open window starting at <paramref name="start"/>, opened if needed; -1 if too many are open.</summary>
    /// <param name="sequence">The ring sequence of the event that would open it.</param>
    /// <param name="markBefore">The watermark (or closed-before bound) before that event.</param>
    public int WindowIndex(long start, long sequence, long markBefore)
    {
        int i = 0;
        while (i < OpenCount && Windows[i].Start < start)
        {
            i++;
        }

        if (i < OpenCount && Windows[i].Start == start)
        {
            return i;
        }

        if (OpenCount == Windows.Length)
        {
            return -1;
        }

        Array.Copy(Windows, i, Windows, i + 1, OpenCount - i);
        Windows[i] = new OpenWindow { Start = start, Head = -1, Tail = -1, FirstSequence = sequence, MarkBefore = markBefore };
        OpenCount++;
        return i;
    }

    /// <summary>Appends a new group to its window's list (emission keeps arrival order).</summary>
    public void Link(int window, int entry)
    {
        ref OpenWindow w = ref Windows[window];
        Groups.Header(entry).NextInWindow = -1;
        if (w.Tail < 0)
        {
            w.Head = entry;
        }
        else
        {
            Groups.Header(w.Tail).NextInWindow = entry;
        }

        w.Tail = entry;
        w.Groups++;
    }

    public void CloseOldest()
    {
        Array.Copy(Windows, 1, Windows, 0, OpenCount - 1);
        OpenCount--;
    }
}

/// <summary>One event ahead of the aggregate, as its look-ahead guessed it: the group to prefetch.</summary>
internal struct Ahead
{
    /// <summary>Entries of <see cref="AggregateState.Ahead"/>: a power of two above 3 · <see cref="AggregateHandler.AheadStep"/>.</summary>
    public const int Slots = 8;

    public long Window;
    public ulong Hash;
    public double Value;
}
