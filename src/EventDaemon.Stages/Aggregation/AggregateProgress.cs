namespace EventDaemon.Stages.Aggregation;

/// <summary>
/// What an aggregate on one thread tells the journal, and what the journal tells it back at start.
/// Out: for each window it emits, where a replay must start (the main ring's sequence of the first
/// event of the oldest window still open after it, or the next sequence when none is) and the state
/// to start from there (the watermark before that event). Once the sinks behind the aggregate have
/// delivered that window, the journal checkpoints that pair. In: before a replay publishes, which
/// ring sequences the aggregate skips (their windows were delivered or are recomputed from later
/// ones), which were replayed (processing time then reads their journaled ingest time, not the
/// clock), and the state to restore.
/// </summary>
/// <remarks>
/// The emitted windows are a bounded single-producer table: the stage thread writes an entry and
/// publishes the count (release); any other thread reads the count (acquire), the entry, and the
/// count again, and drops a read the producer may have overwritten. No lock, no allocation on the
/// stage thread. The start-up fields are written before the first event reaches the stage (the ring's
/// publish orders them) and read only by the stage thread.
/// </remarks>
public sealed class AggregateProgress
{
    /// <summary>Emitted windows remembered: with 1 ms windows, four seconds of a sink lagging behind
    /// its aggregate. A sink further behind than this finds no entry and its checkpoint waits (safe:
    /// the older checkpoint replays more), it never points at the wrong window.</summary>
    public const int Capacity = 4096;

    private readonly long[] _starts = new long[Capacity];
    private readonly long[] _from = new long[Capacity];
    private readonly long[] _marks = new long[Capacity];
    private long _count;

    /// <summary>Ring sequences below this are not folded and do not move the watermark: what they
    /// held is in the restored state or in windows already delivered. 0 without a replay.</summary>
    public long SkipBelowRing { get; set; }

    /// <summary>Ring sequences below this were replayed from the journal: a processing-time aggregate
    /// takes their journaled ingest time as its clock. 0 without a replay.</summary>
    public long ReplayedBelowRing { get; set; }

    /// <summary>Unix time minus the monotonic clock that slots carry: turns a replayed ingest time into the wall clock it was journaled with.</summary>
    public long IngestToUnixNanos { get; set; }

    /// <summary>The event-time watermark (processing time: the closed-before bound) just before the
    /// first event not skipped; <see cref="long.MinValue"/> for none.</summary>
    public long RestoreMark { get; set; } = long.MinValue;

    /// <summary>Windows starting at or before this were delivered by every sink behind the aggregate:
    /// never emitted again. <see cref="long.MinValue"/> for none.</summary>
    public long DeliveredStart { get; set; } = long.MinValue;

    /// <summary>Windows emitted so far (the producer's count).</summary>
    public long Emitted => Volatile.Read(ref _count);

    /// <summary>
    /// Stage thread: window <paramref name="start"/> was emitted; a replay starting at ring sequence
    /// <paramref name="fromRing"/> with <paramref name="mark"/> restored recomputes every later window.
    /// </summary>
    /// <remarks>Release write of the count after the entry: a reader that sees the count sees the entry.</remarks>
    internal void Add(long start, long fromRing, long mark)
    {
        long count = _count;
        int i = (int)(count % Capacity);
        _starts[i] = start;
        _from[i] = fromRing;
        _marks[i] = mark;
        Volatile.Write(ref _count, count + 1);
    }

    /// <summary>
    /// Any thread: the entry of the latest emitted window starting at or before <paramref name="delivered"/>,
    /// that is where a replay recomputing every window after it starts. False when none is remembered.
    /// </summary>
    public bool TryFind(long delivered, out long start, out long fromRing, out long mark)
    {
        long count = Volatile.Read(ref _count);
        for (long n = count - 1; n >= 0 && n > count - Capacity; n--)
        {
            int i = (int)(n % Capacity);
            start = _starts[i];
            fromRing = _from[i];
            mark = _marks[i];
            // The entry reads above must not move past the recount below.
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref _count) - n >= Capacity)
            {
                break; // overwritten while read, and every older one with it
            }

            if (start <= delivered)
            {
                return true;
            }
        }

        start = fromRing = mark = 0;
        return false;
    }
}
