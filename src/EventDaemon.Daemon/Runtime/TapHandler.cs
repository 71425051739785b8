using System.Runtime.CompilerServices;
using EventDaemon.Events;
using EventDaemon.Events.Ingest;
using EventDaemon.Ring;
using EventDaemon.Stages.Routing;

namespace EventDaemon.Daemon.Runtime;

/// <summary>
/// A stage's handler with the taps its thread feeds: before the stage runs, the events entering
/// the ring (<see cref="RingIngressTaps"/>, on the one thread chosen to see them); after it, the
/// events that left the stage (<see cref="StageOutputTaps"/>: a marking transform's, a route's outputs'),
/// each only while a client is attached.
/// </summary>
/// <remarks>
/// A struct generic over the stage's own struct handler, so the stage's call stays direct and
/// inlined, and an untapped event costs one volatile read per kind of tap the thread serves
/// (<see cref="TapGroup.Any"/>; a group that can never be attached stands in for a kind it does
/// not serve, so there is no null test either). A stage that feeds no tap is placed bare.
/// The one wrapper a stage gets (never one inside another), so lookups of the stage's state see
/// through it (<see cref="IHandlerWrapper{TInner}"/>).
/// </remarks>
internal struct TapHandler<THandler> : IEventHandler<EventSlot>, IHandlerWrapper<THandler>
    where THandler : struct, IEventHandler<EventSlot>
{
    private readonly TapGroup _entering;
    private readonly TapGroup _leaving;
    private readonly RingIngressTaps? _ingress;
    private readonly StageOutputTaps? _outputs;

    /// <summary>This thread's share of the stage's events (a split stage's), bound to the ring's catalog.</summary>
    private readonly Partition _partition;

    /// <summary>This thread's lane in the stage's taps.</summary>
    private readonly int _lane;

    /// <summary>Mutable struct: handlers keep state in their fields, so this is not readonly.</summary>
    private THandler _stage;

    /// <param name="ingress">The taps of the events entering the ring, when this thread is the one that offers them.</param>
    /// <param name="outputs">The taps of the stage's outputs, or null.</param>
    /// <param name="thread">This thread's index among the stage's (its lane, and its share of a split stage).</param>
    public TapHandler(THandler stage, RingIngressTaps? ingress, StageOutputTaps? outputs, int thread)
    {
        _stage = stage;
        _ingress = ingress;
        _outputs = outputs;
        _entering = ingress?.Group ?? TapGroup.Never;
        _leaving = outputs?.Group ?? TapGroup.Never;
        _partition = outputs?.PartitionOf(thread) ?? Partition.Whole;
        _lane = thread;
    }

    /// <summary>The stage's own handler, for lookups of its state (enrich columns, stats).</summary>
    public readonly THandler Inner => _stage;

    public void OnStart() => _stage.OnStart();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void OnEvent(ref EventSlot slot, long sequence, bool endOfBatch)
    {
        if (_entering.Any)
        {
            _ingress!.Offer(ref slot);
        }

        _stage.OnEvent(ref slot, sequence, endOfBatch);
        if (_leaving.Any)
        {
            OfferIfLeft(ref slot, sequence);
        }
    }

    public void OnTimeout(long sequence) => _stage.OnTimeout(sequence);

    public void OnShutdown() => _stage.OnShutdown();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly void OfferIfLeft(ref EventSlot slot, long sequence)
    {
        StageOutputTaps outputs = _outputs!;
        EventReader ring = outputs.Ring;

        // Another thread's share is marked when that thread gets to it: not this thread's to judge.
        if (!outputs.Reach.Delivers(ref slot) || _partition.Skips(ring, ref slot, sequence))
        {
            return;
        }

        StageTap[] taps = outputs.Taps;
        ulong[] blockedBy = outputs.BlockedBy;
        for (int i = 0; i < taps.Length; i++)
        {
            // The event left through this output unless the stage set the output's bit.
            if (taps[i].Attached && (slot.Marks & blockedBy[i]) == 0)
            {
                taps[i].Offer(_lane, in slot, ring.Payload(ref slot));
            }
        }
    }
}
