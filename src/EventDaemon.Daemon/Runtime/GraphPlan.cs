using System.Text;
using EventDaemon.Daemon.Config;
using EventDaemon.Events.Fields;
using EventDaemon.Stages.Routing;
using EventDaemon.Stages.Transforms;

namespace EventDaemon.Daemon.Runtime;

/// <summary>How a stage that runs on several threads shares its events out (see <see cref="Partition"/>).</summary>
/// <param name="Selector">For <see cref="PartitionKind.Selector"/>: the sample, throttle or dedupe key.</param>
/// <param name="GroupKey">For <see cref="PartitionKind.GroupKey"/>: the aggregate's group key.</param>
internal sealed record SplitSpec(PartitionKind Kind, FieldSelector? Selector = null, KeyPart[]? GroupKey = null)
{
    public static SplitSpec None { get; } = new(PartitionKind.Whole);

    /// <summary>Thread <paramref name="index"/>'s share (fields and keys bound later, to the stage's catalog).</summary>
    public Partition For(int index, int count) => Kind switch
    {
        _ when count == 1 => Partition.Whole,
        PartitionKind.GroupKey => Partition.ByGroupKey(index, count, GroupKey!, -1),
        PartitionKind.Selector => Partition.BySelector(index, count, Selector!),
        _ => Partition.BySequence(index, count),
    };

    public override string ToString() => Kind switch
    {
        PartitionKind.Sequence => "by sequence",
        PartitionKind.GroupKey => "by group key",
        PartitionKind.Selector => $"by {Selector}",
        _ => "whole",
    };
}

/// <summary>Where one stage runs: its ring, how many threads, how they split the events, and
/// whether it runs on the threads of the stage before it (fused).</summary>
/// <param name="Ring">The ring it reads: <c>main</c>, or the aggregate whose results it reads.</param>
/// <param name="Fused">Runs on its predecessor's thread(s), after it, instead of threads of its own.</param>
/// <param name="StreamSources">The sources (bits of ids) whose events make up its input stream.</param>
internal sealed record StagePlan(string Name, string Ring, int Threads, SplitSpec Split, bool Fused, ulong StreamSources);

/// <summary>Where one stage runs, as <c>eventd graph</c> shows it (a read-only copy of <see cref="StagePlan"/>).</summary>
/// <param name="Split">How its threads share the events (<c>whole</c>, <c>by sequence</c>, <c>by group key</c>, <c>by FIELD</c>).</param>
public sealed record StagePlacement(string Name, string Ring, int Threads, string Split, bool Fused);

/// <summary>The daemon's own placement decisions for a config, for tools that draw the topology.</summary>
public static class GraphPlanner
{
    /// <summary>
    /// The plan <c>run</c> would build from <paramref name="config"/>, in topology order. Plans
    /// only: no ring, socket or thread is made.
    /// </summary>
    public static IReadOnlyList<StagePlacement> Place(EventdConfig config)
    {
        // Source ids only feed the stream masks, which a drawing does not show: declaration order will do.
        var sourceIds = new Dictionary<string, ushort>(StringComparer.Ordinal);
        foreach (SourceConfig source in config.Topology.Sources)
        {
            sourceIds[source.Name] = (ushort)sourceIds.Count;
        }

        GraphPlan plan = GraphPlan.Of(config, sourceIds);
        var placements = new List<StagePlacement>(plan.Stages.Count);
        foreach (StagePlan stage in plan.Stages)
        {
            placements.Add(new StagePlacement(stage.Name, stage.Ring, stage.Threads, stage.Split.ToString(), stage.Fused));
        }

        return placements;
    }
}

/// <summary>
/// The plan of a config's consumer graph, made before anything is built: which ring each stage
/// reads, how many threads it gets, how they split its events, and which stages share threads.
/// Pure data, so <c>ctl info</c> can print it and tests can check it.
/// </summary>
/// <remarks>
/// A transform with <c>threads = N</c> runs on N threads; the stateless transforms fused before
/// it (a filter, route or enrich that only it reads) are split the same way and run on those
/// threads, so an event is never handed between threads inside the chain. Keyed stages split by
/// key (aggregate: its group key; sample, throttle, dedupe: their key), so each key's state is on
/// one thread; stateless stages split by runs of sequences.
/// </remarks>
internal sealed class GraphPlan
{
    public const string MainRing = "main";

    private readonly Dictionary<string, StagePlan> _byName;

    private GraphPlan(List<StagePlan> stages)
    {
        Stages = stages;
        _byName = stages.ToDictionary(s => s.Name, StringComparer.Ordinal);
    }

    /// <summary>Every transform and sink, in the topology's (dependency) order.</summary>
    public IReadOnlyList<StagePlan> Stages { get; }

    public StagePlan this[string name] => _byName[name];

    public static GraphPlan Of(EventdConfig config, IReadOnlyDictionary<string, ushort> sourceIds)
    {
        Topology topology = config.Topology;
        var ringOf = new Dictionary<string, string>(StringComparer.Ordinal);
        var streamOf = new Dictionary<string, ulong>(StringComparer.Ordinal);
        var readers = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (SourceConfig source in topology.Sources)
        {
            ringOf[source.Name] = MainRing;
            streamOf[source.Name] = sourceIds.TryGetValue(source.Name, out ushort id) ? 1UL << id : 0;
        }

        foreach (TopologyStage stage in topology.Stages)
        {
            foreach (StageInput input in stage.Upstream)
            {
                readers[input.Component] = readers.GetValueOrDefault(input.Component) + 1;
            }
        }

        int cpus = config.Daemon.ConsumerCpus.Count > 0 ? config.Daemon.ConsumerCpus.Count : Environment.ProcessorCount;
        var threads = new Dictionary<string, int>(StringComparer.Ordinal);
        var split = new Dictionary<string, SplitSpec>(StringComparer.Ordinal);
        var predecessor = new Dictionary<string, string?>(StringComparer.Ordinal);
        var runsOn = new Dictionary<string, string>(StringComparer.Ordinal);
        var inputStream = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (TopologyStage stage in topology.Stages)
        {
            // The ring a stage reads is the one its inputs' events are in; an aggregate's results are in its own.
            string ring = stage.Upstream.Count > 0 && ringOf.TryGetValue(stage.Upstream[0].Component, out string? r) ? r : MainRing;
            runsOn[stage.Name] = ring;
            ringOf[stage.Name] = stage.Config is AggregateTransformConfig ? stage.Name : ring;
            ulong stream = 0;
            foreach (StageInput input in stage.Upstream)
            {
                // An aggregate's results carry source id 0 in the aggregate's own ring.
                stream |= streamOf.GetValueOrDefault(input.Component);
            }

            // What it reads, and what its readers read: an aggregate's results carry source id 0.
            inputStream[stage.Name] = stream;
            streamOf[stage.Name] = stage.Config is AggregateTransformConfig ? 1UL : stream;
            int n = stage.Config is TransformConfig t ? (t.Threads == TransformConfig.AutoThreads ? cpus : t.Threads) : 1;
            threads[stage.Name] = Math.Max(1, n);
            split[stage.Name] = n > 1 ? SplitOf(stage.Config) : SplitSpec.None;

            // The one stage a chain may fuse into: the single input, a transform of the same ring
            // that nobody else reads.
            predecessor[stage.Name] = config.Daemon.FuseChains && stage.Upstream.Count == 1
                && stage.Upstream[0].Kind == ComponentKind.Transform
                && runsOn[stage.Upstream[0].Component] == ring
                && readers[stage.Upstream[0].Component] == 1
                ? stage.Upstream[0].Component : null;
        }

        // Split chains, from the end: a stateless stage fused before a split one takes its split.
        for (int i = topology.Stages.Count - 1; i >= 0; i--)
        {
            string name = topology.Stages[i].Name;
            if (threads[name] > 1 && predecessor[name] is { } before && threads[before] == 1 && IsStateless(Config(topology, before)))
            {
                threads[before] = threads[name];
                split[before] = split[name];
            }
        }

        var plans = new List<StagePlan>(topology.Stages.Count);
        foreach (TopologyStage stage in topology.Stages)
        {
            string name = stage.Name;
            bool fused = predecessor[name] is { } before && threads[before] == threads[name] && split[before] == split[name];
            plans.Add(new StagePlan(name, runsOn[name], threads[name], split[name], fused, inputStream[name]));
        }

        return new GraphPlan(plans);
    }

    /// <summary>The plan, one line per thread group: for <c>ctl info</c> and the logs.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        foreach (StagePlan stage in Stages)
        {
            text.Append(stage.Fused ? "  + " : "  ").Append(stage.Name).Append(" (").Append(stage.Ring).Append(" ring");
            if (stage.Threads > 1)
            {
                text.Append(", ").Append(stage.Threads).Append(" threads ").Append(stage.Split);
            }

            text.Append(stage.Fused ? ", on the threads of the stage before" : "").Append(")\n");
        }

        return text.ToString();
    }

    private static StageConfig Config(Topology topology, string name) => topology.Stages.First(s => s.Name == name).Config;

    private static bool IsStateless(StageConfig config) =>
        config is FilterTransformConfig or RouteTransformConfig or EnrichTransformConfig;

    private static SplitSpec SplitOf(StageConfig config) => config switch
    {
        AggregateTransformConfig aggregate => new SplitSpec(PartitionKind.GroupKey, GroupKey: PipelineBuilder.GroupKeyOf(aggregate)),
        SampleTransformConfig { Key: { } key } => new SplitSpec(PartitionKind.Selector, FieldSelector.Parse(key.ToString())),
        ThrottleTransformConfig { Key: { } key } => new SplitSpec(PartitionKind.Selector, FieldSelector.Parse(key.ToString())),
        DedupeTransformConfig dedupe => new SplitSpec(PartitionKind.Selector, FieldSelector.Parse(dedupe.Field.ToString())),
        _ => new SplitSpec(PartitionKind.Sequence),
    };
}
