using EventDaemon.Events.Ingest;
using EventDaemon.Stages.Routing;

namespace EventDaemon.Daemon.Runtime;

/// <summary>
/// The tap points of one graph being built, by name: each source, stage, route output and sink
/// gets one, in the topology's order (the order an unknown target's reply lists them in). A point
/// whose name the graph being replaced had, with as many lanes, keeps that graph's
/// <see cref="StageTap"/> (the old stage halts before the new one starts), so an attached client
/// and the counters carry over a reload.
/// </summary>
internal sealed class TapPoints(IReadOnlyDictionary<string, StageTap>? previous)
{
    private readonly Dictionary<string, StageTap> _all = new(StringComparer.Ordinal);

    /// <summary>Rings whose ingress taps are made and not yet given to a thread.</summary>
    private readonly Dictionary<string, (RingIngressTaps Taps, string[] Names)> _unplaced = new(StringComparer.Ordinal);

    /// <summary>The tap points of the graph, in order; a ring nobody reads has none.</summary>
    public Dictionary<string, StageTap> All
    {
        get
        {
            var placed = new Dictionary<string, StageTap>(StringComparer.Ordinal);
            HashSet<string> unfed = [.. _unplaced.Values.SelectMany(u => u.Names)];
            foreach ((string name, StageTap tap) in _all)
            {
                if (!unfed.Contains(name))
                {
                    placed[name] = tap;
                }
            }

            return placed;
        }
    }

    /// <summary>
    /// The taps of what enters <paramref name="ring"/>: one per (name, source id) of
    /// <paramref name="sources"/>; given to the first stage placed on the ring (<see cref="TakeIngress"/>).
    /// </summary>
    public void Ingress(string ring, EventReader reader, IReadOnlyList<(string Name, ushort Id)> sources)
    {
        TapGroup group = GroupOf(sources.Select(s => s.Name));
        var bySource = new StageTap?[sources.Count == 0 ? 0 : sources.Max(s => s.Id) + 1];
        foreach ((string name, ushort id) in sources)
        {
            bySource[id] = Tap(name, lanes: 1, group);
        }

        _unplaced[ring] = (new RingIngressTaps(reader, group, bySource), [.. sources.Select(s => s.Name)]);
    }

    /// <summary>The ingress taps of <paramref name="ring"/> for the first stage placed there; null for any later one.</summary>
    public RingIngressTaps? TakeIngress(string ring) => _unplaced.Remove(ring, out var ingress) ? ingress.Taps : null;

    /// <summary>The taps of a marking stage's one output: what reached it and it did not mark with <paramref name="bit"/>.</summary>
    public StageOutputTaps Marking(StagePlan stage, EventReader ring, Reach reach, int bit) =>
        Outputs(stage, ring, reach, [(stage.Name, 1UL << bit)]);

    /// <summary>
    /// The taps of a stage's outputs (a route: itself with 0, then each <c>route.output</c> with its bit),
    /// one group for them all, one lane per thread of the stage.
    /// </summary>
    public StageOutputTaps Outputs(StagePlan stage, EventReader ring, Reach reach, IReadOnlyList<(string Name, ulong BlockedBy)> points)
    {
        TapGroup group = GroupOf(points.Select(p => p.Name));
        StageTap[] taps = [.. points.Select(p => Tap(p.Name, stage.Threads, group))];
        return new StageOutputTaps(ring, reach, taps, [.. points.Select(p => p.BlockedBy)], stage.Split, stage.Threads);
    }

    /// <summary>A sink's tap: the lines it takes, fed by its own handler.</summary>
    public StageTap Sink(string name) => Tap(name, lanes: 1, group: null);

    private StageTap Tap(string name, int lanes, TapGroup? group)
    {
        StageTap tap = previous is not null && previous.TryGetValue(name, out StageTap? kept) && kept.Lanes == lanes && (group is null || kept.Group == group)
            ? kept
            : new StageTap(name, lanes, group);
        _all[name] = tap;
        return tap;
    }

    /// <summary>The group the previous graph's taps of these names shared, so they can be kept; a new one otherwise.</summary>
    private TapGroup GroupOf(IEnumerable<string> names)
    {
        foreach (string name in names)
        {
            if (previous is not null && previous.TryGetValue(name, out StageTap? kept))
            {
                return kept.Group;
            }
        }

        return new TapGroup();
    }
}
