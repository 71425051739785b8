using System.Runtime.CompilerServices;
using EventDaemon.Events;
using EventDaemon.Events.Ingest;
using EventDaemon.Ring;
using EventDaemon.Stages.Routing;

namespace EventDaemon.Daemon.Runtime;

/// <summary>
/// A marking transform (filter, sample, throttle, dedupe, enrich) with its <see cref="StageTap"/>:
/// runs the stage, then, only while a client is attached, offers the event to the tap if it left
/// the stage, i.e. reached it and the stage did not set its bit.
/// </summary>
/// <remarks>
/// A struct generic over the stage's own struct handler, so the stage's call stays direct and
/// inlined, and an untapped event costs one volatile read more than the bare stage. Only a stage on
/// one thread is wrapped: the events of a split stage's other threads are marked when they get to
/// them, so no one thread could tell which left.
/// </remarks>
internal struct TapHandler<THandler> : IEventHandler<EventSlot>, IHandlerWrapper<THandler>
    where THandler : struct, IEventHandler<EventSlot>
{
    private readonly EventReader _ring;
    private readonly StageTap _tap;
    private readonly Reach _reach;
    private readonly ulong _bit;

    /// <summary>Mutable struct: handlers keep state in their fields, so this is not readonly.</summary>
    private THandler _stage;

    public TapHandler(THandler stage, StageTap tap, EventReader ring, Reach reach, int markBit)
    {
        _stage = stage;
        _tap = tap;
        _ring = ring;
        _reach = reach;
        _bit = 1UL << markBit;
    }

    /// <summary>The stage's own handler, for lookups of its state (enrich columns, stats).</summary>
    public readonly THandler Inner => _stage;

    public void OnStart() => _stage.OnStart();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void OnEvent(ref EventSlot slot, long sequence, bool endOfBatch)
    {
        _stage.OnEvent(ref slot, sequence, endOfBatch);
        if (_tap.Attached)
        {
            OfferIfLeft(ref slot);
        }
    }

    public void OnTimeout(long sequence) => _stage.OnTimeout(sequence);

    public void OnShutdown() => _stage.OnShutdown();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly void OfferIfLeft(ref EventSlot slot)
    {
        if ((slot.Marks & _bit) == 0 && _reach.Delivers(ref slot))
        {
            _tap.Offer(ref slot, _ring.Payload(ref slot));
        }
    }
}
