using System.Runtime.CompilerServices;
using EventDaemon.Events;
using EventDaemon.Events.Ingest;

namespace EventDaemon.Daemon.Runtime;

/// <summary>
/// The taps of the events entering one ring, by the source id in the slot: on the main ring one
/// per source (<c>eventd tap SOURCE</c>: what the source published), on an aggregate's own ring
/// the aggregate's (<c>eventd tap AGGREGATE</c>: the window results it published, which carry
/// source id 0 there).
/// </summary>
/// <remarks>
/// <para>
/// Offered from the first stage thread placed on the ring: a stage with no stage of its ring
/// before it, which every slot reaches as soon as it is published, on thread 0 when it is split
/// (every thread of a split stage reads every slot). So the events are copied on a thread that
/// already reads them, in the order the ring holds them, and:
/// </para>
/// <list type="bullet">
/// <item>the sources' I/O threads and the aggregate's threads stay as they were: tapping them would
/// add a check to every read loop (several threads per source) and could not share one lane;</item>
/// <item>no new consumer joins the ring: a consumer of its own would gate the producers and could
/// hold the ring behind a slow client, which a tap must never do;</item>
/// <item>the price, while a client taps, is paid by one stage thread that already touches the
/// slot, not by every event's producer.</item>
/// </list>
/// <para>
/// The journal's leaf stage would do as well on the main ring, but exists only with a journal and
/// never on an aggregate's ring; the first stage exists on every ring that is read.
/// </para>
/// </remarks>
internal sealed class RingIngressTaps(EventReader ring, TapGroup group, StageTap?[] bySource)
{
    /// <summary>The taps of this ring's sources, checked once per event by the offering thread.</summary>
    public TapGroup Group { get; } = group;

    /// <summary>Offers a slot just published to its source's tap, if a client taps that source.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void Offer(ref EventSlot slot)
    {
        uint id = slot.SourceId;
        if (id < (uint)bySource.Length && bySource[id] is { Attached: true } tap)
        {
            tap.Offer(in slot, ring.Payload(ref slot));
        }
    }
}
