using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Runtime;

namespace EventDaemon.Cli.Graph;

/// <summary>A source as drawn: it writes the main ring from a thread of its own.</summary>
internal sealed record GraphSource(string Name, string Type);

/// <summary>A transform or sink as drawn, with the thread group it runs in.</summary>
/// <param name="Inputs">What it reads, as the config writes it (<c>route.high</c> for a route's output).</param>
/// <param name="Group">Its thread group: fused stages share their predecessor's.</param>
internal sealed record GraphStage(string Name, ComponentKind Kind, string Type, IReadOnlyList<StageInput> Inputs, string Ring, bool Fused, int Group);

/// <summary>Stages that run on the same thread(s): one stage, or a fused chain.</summary>
/// <param name="Split">How its threads share the events, when there are several.</param>
internal sealed record ThreadGroup(int Id, string Ring, int Threads, string Split, IReadOnlyList<string> Members);

/// <summary>
/// The topology of a config with the daemon's placement of it (<see cref="GraphPlanner"/>):
/// pure data for <c>eventd graph</c>'s DOT and text forms. Nothing is built.
/// </summary>
internal sealed class TopologyGraph
{
    private TopologyGraph(int ringSize, List<GraphSource> sources, List<GraphStage> stages, List<ThreadGroup> groups)
    {
        RingSize = ringSize;
        Sources = sources;
        Stages = stages;
        Groups = groups;
    }

    public const string MainRing = "main";

    /// <summary>Slots in the main ring.</summary>
    public int RingSize { get; }

    public IReadOnlyList<GraphSource> Sources { get; }

    /// <summary>In topology (dependency) order.</summary>
    public IReadOnlyList<GraphStage> Stages { get; }

    /// <summary>In the order their first stage appears.</summary>
    public IReadOnlyList<ThreadGroup> Groups { get; }

    /// <summary>The main ring, then one ring per aggregate whose results a stage reads, in topology order.</summary>
    public IEnumerable<string> Rings => Stages.Select(s => s.Ring).Prepend(MainRing).Distinct();

    public static TopologyGraph Of(EventdConfig config)
    {
        IReadOnlyList<StagePlacement> placements = GraphPlanner.Place(config);
        var placementOf = placements.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var groupOf = new Dictionary<string, int>(StringComparer.Ordinal);
        var groups = new List<(string Ring, int Threads, string Split, List<string> Members)>();
        var stages = new List<GraphStage>();
        foreach (TopologyStage stage in config.Topology.Stages)
        {
            StagePlacement placement = placementOf[stage.Name];

            // The planner fuses a stage only onto its one input, a transform: it joins that one's threads.
            int group;
            if (placement.Fused)
            {
                group = groupOf[stage.Upstream[0].Component];
                groups[group - 1].Members.Add(stage.Name);
            }
            else
            {
                groups.Add((placement.Ring, placement.Threads, placement.Split, [stage.Name]));
                group = groups.Count;
            }

            groupOf[stage.Name] = group;
            stages.Add(new GraphStage(stage.Name, stage.Kind, stage.Config.TypeName, [.. stage.Upstream], placement.Ring, placement.Fused, group));
        }

        return new TopologyGraph(
            config.Daemon.RingSize,
            [.. config.Topology.Sources.Select(s => new GraphSource(s.Name, s.TypeName))],
            stages,
            [.. groups.Select((g, i) => new ThreadGroup(i + 1, g.Ring, g.Threads, g.Split, g.Members))]);
    }

    /// <summary>"1 thread", "4 threads, split by group key".</summary>
    public static string Describe(ThreadGroup group) =>
        group.Threads == 1 ? "1 thread" : $"{group.Threads} threads, split {group.Split}";
}
