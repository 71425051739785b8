using System.Runtime.CompilerServices;
using EventDaemon.Events;
using EventDaemon.Events.Fields;
using EventDaemon.Events.Ingest;
using EventDaemon.Ring;
using EventDaemon.Stages.Expressions;
using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;

namespace EventDaemon.Stages.Transforms;

/// <summary>
/// The <c>filter</c> transform: evaluates its condition on every event that reaches it and sets its
/// own bit in <see cref="EventSlot.Marks"/> on those it does not let through (including those
/// that never reached it), so stages downstream of it skip them. No copy, no allocation.
/// </summary>
public struct FilterHandler : IEventHandler<EventSlot>
{
    private readonly EventReader _ring;
    private readonly Partition _partition;
    private readonly FilterProgram _program;
    private readonly StageMetrics _metrics;
    private readonly Reach _reach;
    private readonly ulong _bit;

    public FilterHandler(EventReader ring, FilterProgram program, Reach reach, int markBit, StageMetrics metrics, Partition partition = default)
    {
        _ring = ring;
        _partition = partition.In(ring.Catalog);
        _program = program.BindTo(ring.Catalog);
        _reach = reach;
        _bit = 1UL << markBit;
        _metrics = metrics;
    }

    public readonly void OnStart()
    {
    }

    public readonly void OnEvent(ref EventSlot slot, long sequence, bool endOfBatch)
    {
        if (_partition.Kind != PartitionKind.Whole)
        {
            OnSharedEvent(ref slot, sequence, endOfBatch);
            return;
        }

        // One thread takes every event: the reach test reads only the slot, so an event that does
        // not reach the stage costs no view.
        bool pass = _reach.Delivers(ref slot)
            && Marking.Counted(_program.Evaluate(_ring.View(ref slot, sequence)), ref slot, sequence, endOfBatch, _metrics);
        Marking.MarkUnless(pass, ref slot, _bit);
    }

    public readonly void OnTimeout(long sequence)
    {
    }

    public readonly void OnShutdown()
    {
    }

    /// <summary>A thread of a split stage: events of the other threads' shares are theirs to mark.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly void OnSharedEvent(ref EventSlot slot, long sequence, bool endOfBatch)
    {
        // One view for the thread's share and the condition alike.
        var view = _ring.View(ref slot, sequence);
        if (!_partition.Owns(in view, sequence))
        {
            return;
        }

        bool pass = _reach.Delivers(ref slot)
            && Marking.Counted(_program.Evaluate(in view), ref slot, sequence, endOfBatch, _metrics);
        Marking.MarkUnless(pass, ref slot, _bit);
    }
}
