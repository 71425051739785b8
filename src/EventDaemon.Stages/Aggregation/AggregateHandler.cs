using System.Buffers.Text;
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
    private readonly EventRing _input;
    private readonly EventRing _output;
    private readonly AggregateSpec _spec;
    private readonly Reach _reach;
    private readonly StageMetrics _metrics;
    private readonly AggregateState _state;

    public AggregateHandler(EventRing input, EventRing output, AggregateSpec spec, Reach reach, StageMetrics metrics)
    {
        _input = input;
        _output = output;
        _spec = spec;
        _reach = reach;
        _metrics = metrics;
        _state = new AggregateState(spec);
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
        if (_reach.Delivers(ref slot))
        {
            ref StageCounters counters = ref _metrics.Counters;
            Volatile.Write(ref counters.Processed, counters.Processed + 1);
            Fold(ref slot, s, sequence, endOfBatch);
        }

        if (endOfBatch)
        {
            s.ClockValid = false;
            if (!_spec.EventTime)
            {
                CloseByClock(_state.Now());
            }
        }
    }

    public readonly void OnTimeout(long sequence)
    {
        if (!_spec.EventTime)
        {
            CloseByClock(_state.Now());
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

    private readonly void Fold(ref EventSlot slot, AggregateState s, long sequence, bool endOfBatch)
    {
        long time;
        if (_spec.EventTime)
        {
            time = slot.Timestamp;
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

        Span<byte> key = stackalloc byte[AggregateSpec.MaxKeyBytes];
        int keyLength = BuildKey(ref slot, key);
        int w = keyLength < 0 ? -1 : s.WindowIndex(start);
        bool added = false;
        int entry = w < 0 ? -1 : s.Groups.FindOrAdd(start, key[..keyLength], out added);
        if (entry < 0)
        {
            // Group key too long, too many open windows, or max_groups reached: counted, never grown.
            ref StageCounters c = ref _metrics.Counters;
            Volatile.Write(ref c.DroppedMaxGroups, c.DroppedMaxGroups + 1);
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

        if (_spec.EventTime && slot.Timestamp - _spec.LatenessNanos > s.Watermark)
        {
            s.Watermark = slot.Timestamp - _spec.LatenessNanos;
            while (s.OpenCount > 0 && s.Oldest().End(window) <= s.Watermark)
            {
                Emit(s.Oldest());
            }

            long closed = s.Watermark - Mod(s.Watermark, window);
            if (closed > s.ClosedBefore)
            {
                s.ClosedBefore = closed;
            }
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
        long window = _spec.WindowNanos;
        while (s.OpenCount > 0 && s.Oldest().End(window) <= now)
        {
            Emit(s.Oldest());
        }

        long current = now - Mod(now, window);
        if (current > s.ClosedBefore)
        {
            s.ClosedBefore = current;
        }
    }

    /// <summary>Publishes one line per group of the window into the output ring, then frees the groups.</summary>
    private readonly void Emit(OpenWindow window)
    {
        AggregateState s = _state;
        byte[] line = s.Line;
        // A group's exact values are sorted here for its quantiles (at most BlockValues of them).
        Span<double> scratch = stackalloc double[GroupTable.BlockValues];
        IngestBatch batch = _output.BeginBatch();
        try
        {
            long now = MonotonicClock.NowNanos();
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
                int length = AggregateOutput.Write(_spec, window.Start, ref g, s.Groups.Key(entry), quantiles, line, ref slot);
                batch.TryAppend(ref slot, line.AsSpan(0, length), wait: true);
                int next = g.NextInWindow;
                s.Groups.Remove(entry);
                entry = next;
            }
        }
        finally
        {
            batch.Dispose();
        }

        s.CloseOldest();
    }

    /// <summary>
    /// The group key: each group-by value, length-prefixed (so "a"+"bc" ≠ "ab"+"c"). -1 if too long.
    /// </summary>
    /// <remarks>
    /// Strings are stored unescaped (kind <c>s</c>), so <c>"ab"</c> and <c>"a\u0062"</c>, or a
    /// JSON line's and a binary frame's spelling of one type, are one group; the output escapes
    /// them again. Other scalars keep their raw JSON token (kind <c>r</c>); an absent field and a
    /// JSON <c>null</c> are both kind <c>n</c>, since both are written as <c>null</c>.
    /// </remarks>
    private readonly int BuildKey(ref EventSlot slot, scoped Span<byte> key)
    {
        var view = new EventView(ref slot, _input.Payload(ref slot));
        int n = 0;
        foreach (GroupField field in _spec.GroupBy)
        {
            scoped ReadOnlySpan<byte> value;
            byte kind;
            bool escaped = false;
            switch (field.Kind)
            {
                case GroupFieldKind.Type:
                    kind = view.HasType ? (byte)'s' : (byte)'n';
                    value = view.TypeRaw;
                    escaped = view.TypeEscaped && !view.IsBinary;
                    break;
                case GroupFieldKind.Key:
                    kind = view.HasKey ? (byte)'s' : (byte)'n';
                    value = view.KeyRaw;
                    escaped = view.KeyEscaped && !view.IsBinary;
                    break;
                default:
                    if (view.TryGetField(field.NameUtf8, out JsonScalar scalar) && scalar.Kind != JsonScalarKind.Null)
                    {
                        kind = scalar.Kind == JsonScalarKind.String ? (byte)'s' : (byte)'r';
                        value = view.Payload.Slice(scalar.Offset, scalar.Length);
                        escaped = scalar.Escaped;
                    }
                    else
                    {
                        kind = (byte)'n';
                        value = default;
                    }

                    break;
            }

            if (n + 3 > key.Length)
            {
                return -1;
            }

            Span<byte> destination = key[(n + 3)..];
            int length;
            if (escaped)
            {
                // Unescaping never lengthens a string; a malformed escape cannot pass ingest.
                if (!JsonString.TryUnescape(value, destination, out length))
                {
                    return -1;
                }
            }
            else
            {
                if (value.Length > destination.Length)
                {
                    return -1;
                }

                value.CopyTo(destination);
                length = value.Length;
            }

            key[n] = kind;
            key[n + 1] = (byte)(length >> 8);
            key[n + 2] = (byte)length;
            n += 3 + length;
        }

        return n;
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

    /// <summary>One output line, sized for the longest this spec can write (<see cref="AggregateOutput.MaxLength"/>).</summary>
    public byte[] Line { get; }

    /// <summary>Wall-clock Unix nanoseconds: the processing-time clock.</summary>
    public long Now() => TestClock is { } clock ? clock() : MonotonicClock.UnixNanos();

    public OpenWindow Oldest() => Windows[0];

    /// <summary>The index of the open window starting at <paramref name="start"/>, opened if needed; -1 if too many are open.</summary>
    public int WindowIndex(long start)
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
        Windows[i] = new OpenWindow { Start = start, Head = -1, Tail = -1 };
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
    }

    public void CloseOldest()
    {
        Array.Copy(Windows, 1, Windows, 0, OpenCount - 1);
        OpenCount--;
    }
}
