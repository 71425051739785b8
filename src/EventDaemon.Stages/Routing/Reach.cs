using System.Runtime.CompilerServices;
using EventDaemon.Events;

namespace EventDaemon.Stages.Routing;

/// <summary>
/// Which events of a ring reach a stage, given its inputs: events from the sources it names
/// directly (<see cref="SourceMask"/>, one bit per source id), and events that a filter or route
/// output it names let through (<see cref="PassMask"/>, one bit per output; a set bit in
/// <see cref="EventSlot.Marks"/> means "not let through").
/// </summary>
/// <remarks>
/// Filters mark instead of copying, so every stage sees every slot and asks this in two ANDs.
/// At most 64 sources and 64 filter/route outputs share one ring (checked at load).
/// </remarks>
public readonly record struct Reach(ulong SourceMask, ulong PassMask)
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Delivers(ref readonly EventSlot slot) =>
        ((SourceMask >> slot.SourceId) & 1) != 0 || (~slot.Marks & PassMask) != 0;
}
