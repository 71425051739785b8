using EventDaemon.Events;
using EventDaemon.Events.Fields;
using EventDaemon.Events.Ingest;
using EventDaemon.Ring;
using EventDaemon.Stages.Expressions;
using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;

namespace EventDaemon.Stages.Transforms;

/// <summary>
/// The <c>route</c> transform: named outputs by condition, plus <c>_unmatched</c>. Each output owns
/// one bit of <see cref="EventSlot.Marks"/>; for every event that reaches the route, each output's
/// condition is evaluated and the bit of every output whose condition is false is set, so stages
/// reading <c>route.output</c> skip it. No copy, no allocation.
/// </summary>
/// <remarks>
/// <para>An event goes to <em>every</em> output whose condition it meets, not only the first
/// (as in Vector's <c>route</c>): routes are independent questions, and one event may answer
/// several of them. <c>_unmatched</c> gets exactly the events that met none.</para>
/// <para>An event that does not reach the route gets every bit set, <c>_unmatched</c> included:
/// no output of the route lets it through.</para>
/// </remarks>
public struct RouteHandler : IEventHandler<EventSlot>
{
    private readonly EventReader _ring;
    private readonly Partition _partition;
    private readonly FilterProgram[] _conditions;
    private readonly ulong[] _bits;
    private readonly ulong _unmatchedBit;
    private readonly ulong _allBits;
    private readonly Reach _reach;
    private readonly StageMetrics _metrics;

    /// <param name="conditions">One per named output, in the order of <paramref name="markBits"/>.</param>
    /// <param name="markBits">The bit of each named output.</param>
    /// <param name="unmatchedBit">The bit of <c>_unmatched</c>.</param>
    public RouteHandler(EventReader ring, FilterProgram[] conditions, int[] markBits, int unmatchedBit, Reach reach, StageMetrics metrics, Partition partition = default)
    {
        ArgumentNullException.ThrowIfNull(conditions);
        ArgumentNullException.ThrowIfNull(markBits);
        if (conditions.Length != markBits.Length)
        {
            throw new ArgumentException("one mark bit per route condition", nameof(markBits));
        }

        _ring = ring;
        _partition = partition.In(ring.Catalog);
        _conditions = Array.ConvertAll(conditions, c => c.BindTo(ring.Catalog));
        _bits = new ulong[markBits.Length];
        _unmatchedBit = 1UL << unmatchedBit;
        _allBits = _unmatchedBit;
        for (int i = 0; i < markBits.Length; i++)
        {
            _bits[i] = 1UL << markBits[i];
            if ((_allBits & _bits[i]) != 0)
            {
                throw new ArgumentException("every output needs a bit of its own", nameof(markBits));
            }

            _allBits |= _bits[i];
        }

        _reach = reach;
        _metrics = metrics;
    }

    public readonly void OnStart()
    {
    }

    public readonly void OnEvent(ref EventSlot slot, long sequence, bool endOfBatch)
    {
        if (_partition.Skips(_ring, ref slot, sequence))
        {
            return; // another thread of this stage takes it
        }

        ulong blocked = _allBits;
        if (_reach.Delivers(ref slot))
        {
            ref StageCounters counters = ref _metrics.Counters;
            Volatile.Write(ref counters.Processed, counters.Processed + 1);
            var view = _ring.View(ref slot, sequence);
            FilterProgram[] conditions = _conditions;
            ulong[] bits = _bits;
            for (int i = 0; i < conditions.Length; i++)
            {
                if (conditions[i].Evaluate(in view))
                {
                    blocked &= ~bits[i];
                }
            }

            if (blocked == _allBits)
            {
                blocked &= ~_unmatchedBit;
            }

            _metrics.Latency.RecordSampled(sequence, endOfBatch, slot.IngestNanos);
        }

        if (blocked != 0)
        {
            // Atomic: stages that run in parallel on the same slot own different bits of one word.
            Interlocked.Or(ref slot.Marks, blocked);
        }
    }

    public readonly void OnTimeout(long sequence)
    {
    }

    public readonly void OnShutdown()
    {
    }
}
