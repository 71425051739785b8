using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
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

    // The condition's steps are inlined here; their located fields need no zeroed frame.
    [SkipLocalsInit]
    public readonly void OnEvent(ref EventSlot slot, long sequence, bool endOfBatch)
    {
        if (_partition.Kind != PartitionKind.Whole)
        {
            OnSharedEvent(ref slot, sequence, endOfBatch);
            return;
        }

        // One thread takes every event: the reach test reads only the slot, so an event that does
        // not reach the stage costs no view.
        bool pass = _reach.Delivers(ref slot) && Marking.Counted(Evaluate(ref slot, sequence), ref slot, sequence, endOfBatch, _metrics);
        Marking.MarkUnless(pass, ref slot, _bit);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly bool Evaluate(ref EventSlot slot, long sequence)
    {
        EventView view = _ring.View(ref slot, sequence);
        PrefetchAhead(ref slot, view.Payload);
        return _program.Evaluate(in view);
    }

    /// <summary>
    /// Hints the slot and the payload bytes a few events on. The stage is usually the first on its
    /// thread to touch an event, which a reader thread's core decoded moments before, so each of
    /// its lines is a transfer from that core: asked for ahead, the waits overlap the events in
    /// between. Slots are adjacent in the ring, and payloads lie one after another in the arena,
    /// so the bytes <see cref="PrefetchDistance"/> past this event's start are those a condition
    /// on a string will read shortly. A prefetch never faults (past the ring's or the arena's end
    /// included) and reads nothing: the addresses are only hints.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchAhead(ref EventSlot slot, ReadOnlySpan<byte> payload)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref slot, SlotsAhead)));
            Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref MemoryMarshal.GetReference(payload), PrefetchDistance)));
        }
    }

    // Slots ahead: one 64-byte slot an event, so eight events ahead as the payload hint below.
    private const int SlotsAhead = 8;

    // About eight ~110-byte events: far enough to hide a miss behind the events in between,
    // near enough that the line is still cached when its event comes.
    private const int PrefetchDistance = 1024;

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
