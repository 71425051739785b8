using System.Runtime.CompilerServices;
using EventDaemon.Events.Ingest;
using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;

[assembly: InternalsVisibleTo("EventDaemon.Stages.Tests")]

namespace EventDaemon.Stages.Aggregation;

public partial struct AggregateHandler
{
    /// <summary>
    /// Test-only: an aggregate whose processing-time clock (wall-clock Unix nanoseconds) is
    /// <paramref name="clock"/>, so tests choose when windows close.
    /// </summary>
    internal AggregateHandler(EventReader input, EventRing output, AggregateSpec spec, Reach reach, StageMetrics metrics, Func<long> clock,
        Partition partition = default, AggregateProgress? progress = null)
        : this(input, output, spec, reach, metrics, partition, progress: progress)
    {
        _state.TestClock = clock;
    }

    /// <summary>Test-only: the open windows' count.</summary>
    internal readonly int OpenWindows => _state.OpenCount;

    /// <summary>Test-only: windows whose groups left the index in bulk (<see cref="GroupTable.RebuildIndex"/>).</summary>
    internal readonly int IndexRebuilds => _state.Groups.IndexRebuilds;
}

internal sealed partial class AggregateState
{
    /// <summary>Test-only: when set, processing time reads this instead of the wall clock.</summary>
    public Func<long>? TestClock;
}
