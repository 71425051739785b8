using EventDaemon.Events.Ingest;
using EventDaemon.Stages.Routing;

namespace EventDaemon.Daemon.Runtime;

/// <summary>
/// The taps of the events leaving one marking stage: a filter, sample, throttle, dedupe or enrich
/// stage has one (what reached it and it did not mark), a route one for the route as a whole
/// (every event that reached it: each leaves through at least one output, <c>_unmatched</c>
/// included) and one per output, named as inputs name it (<c>route.output</c>: what that output
/// let through).
/// </summary>
/// <param name="Ring">The ring the stage reads.</param>
/// <param name="Reach">Which events reach the stage.</param>
/// <param name="Taps">The tap of each output, all in one <see cref="TapGroup"/>, one lane per thread of the stage.</param>
/// <param name="BlockedBy">For each tap, the bits whose being set means the event did not leave that way (0: every event that reached).</param>
/// <param name="Split">How the stage's threads share the events.</param>
/// <param name="Threads">The stage's threads.</param>
internal sealed record StageOutputTaps(EventReader Ring, Reach Reach, StageTap[] Taps, ulong[] BlockedBy, SplitSpec Split, int Threads)
{
    public TapGroup Group => Taps[0].Group;

    /// <summary>Thread <paramref name="thread"/>'s share, bound to the ring's catalog as the stage binds its own.</summary>
    public Partition PartitionOf(int thread) => Split.For(thread, Threads).In(Ring.Catalog);
}
