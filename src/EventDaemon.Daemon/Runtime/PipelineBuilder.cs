using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Journal;
using EventDaemon.Daemon.Metrics;
using EventDaemon.Daemon.Sinks;
using EventDaemon.Daemon.Sinks.Transports;
using EventDaemon.Daemon.Sources;
using EventDaemon.Events;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Fields;
using EventDaemon.Events.Ingest;
using EventDaemon.Ring;
using EventDaemon.Ring.Waiting;
using EventDaemon.Stages.Aggregation;
using EventDaemon.Stages.Expressions;
using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;
using EventDaemon.Stages.Transforms;

namespace EventDaemon.Daemon.Runtime;

/// <summary>
/// Turns a validated config into a <see cref="Pipeline"/>: each transform and sink becomes a
/// stage of the ring's graph that runs after the stages it names as inputs; each source a
/// producer. The wait strategy, chosen at run time, becomes a generic argument here, so every
/// stage loop is compiled for it.
/// </summary>
public static class PipelineBuilder
{
    /// <summary>How often an idle stage wakes (sinks tick their transports, e.g. fsync = "interval").</summary>
    private static readonly TimeSpan IdleTick = TimeSpan.FromMilliseconds(100);

    /// <summary>Sources and filter outputs are bits of a 64-bit word in every slot.</summary>
    private const int MaxBits = 64;

    public static Pipeline Build(EventdConfig config) => config.Daemon.WaitStrategy switch
    {
        WaitStrategyKind.BusySpin => Build<BusySpinWait>(config),
        WaitStrategyKind.Yielding => Build<YieldingWait>(config),
        WaitStrategyKind.Sleeping => Build<SleepingWait>(config),
        WaitStrategyKind.Blocking => Build<BlockingWait>(config),
        _ => Build<AdaptiveWait>(config),
    };

    private static Pipeline Build<TWait>(EventdConfig config) where TWait : struct, IWaitStrategy
    {
        DaemonSettings daemon = config.Daemon;
        var ring = new EventRing(daemon.RingSize, ArenaBytes(daemon), daemon.LockMemory, TWait.Parks);
        var pipeline = new Pipeline(config, ring, new BadInputLog(daemon.ErrorsKept));
        try
        {
            if (config.Journal is { } journal)
            {
                try
                {
                    pipeline.Journal = DaemonJournal.Open(journal, MaxEventBytes(config));
                }
                catch (JournalException e)
                {
                    throw new PipelineException(e.Message);
                }

                // Before the sources: their acknowledgements and half-closes wait for the journal's syncs.
                pipeline.DurableHorizon = pipeline.Journal;
            }

            var sourceIds = new Dictionary<string, ushort>(StringComparer.Ordinal);
            foreach (SourceConfig source in config.Topology.Sources)
            {
                if (sourceIds.Count == MaxBits)
                {
                    throw new PipelineException($"at most {MaxBits} sources per daemon");
                }

                var metrics = new SourceMetrics(source.Name, (ushort)sourceIds.Count);
                sourceIds[source.Name] = metrics.Id;
                pipeline.SourceMetrics.Add(metrics);
                pipeline.Sources.Add(CreateSource(source, metrics, pipeline, daemon));
            }

            pipeline.SourceIds = sourceIds;
            pipeline.Use(BuildGraph<TWait>(pipeline.Ring, config, sourceIds, journal: pipeline.Journal));
            return pipeline;
        }
        catch
        {
            pipeline.Dispose();
            throw;
        }
    }

    /// <summary>Builds (does not start) the consumer graph of <paramref name="config"/> on a ring: at start and on reload.</summary>
    /// <param name="previous">Metrics of the graph being replaced: a stage of the same name and
    /// type keeps its counters across a reload, so totals never go backwards.</param>
    /// <param name="previousTaps">Tap points of the graph being replaced: a stage of the same name keeps
    /// its tap (the old stage halts before the new one starts), so a tapping client and the tap counters carry over.</param>
    /// <param name="journal">The daemon's journal, whose stage joins the main ring's graph; null without one.</param>
    public static GraphParts BuildGraph(EventRing ring, EventdConfig config, Dictionary<string, ushort> sourceIds,
        IReadOnlyList<StageMetrics>? previous = null, IReadOnlyDictionary<string, StageTap>? previousTaps = null, DaemonJournal? journal = null) =>
        config.Daemon.WaitStrategy switch
        {
            WaitStrategyKind.BusySpin => BuildGraph<BusySpinWait>(ring, config, sourceIds, previous, previousTaps, journal),
            WaitStrategyKind.Yielding => BuildGraph<YieldingWait>(ring, config, sourceIds, previous, previousTaps, journal),
            WaitStrategyKind.Sleeping => BuildGraph<SleepingWait>(ring, config, sourceIds, previous, previousTaps, journal),
            WaitStrategyKind.Blocking => BuildGraph<BlockingWait>(ring, config, sourceIds, previous, previousTaps, journal),
            _ => BuildGraph<AdaptiveWait>(ring, config, sourceIds, previous, previousTaps, journal),
        };

    private static GraphParts BuildGraph<TWait>(EventRing mainRing, EventdConfig config, Dictionary<string, ushort> sourceIds,
        IReadOnlyList<StageMetrics>? previous = null, IReadOnlyDictionary<string, StageTap>? previousTaps = null, DaemonJournal? journal = null)
        where TWait : struct, IWaitStrategy
    {
        var taps = new TapPoints(previousTaps);
        GraphPlan plan = GraphPlan.Of(config, sourceIds);
        Dictionary<string, FieldCatalog> catalogs = CatalogsOf(config.Topology, plan);
        var main = new RingContext<TWait>(GraphPlan.MainRing, mainRing, ownsRing: false, catalogs[GraphPlan.MainRing]);
        var rings = new List<RingContext<TWait>> { main };
        var ringOf = new Dictionary<string, RingContext<TWait>>(StringComparer.Ordinal);
        foreach (string source in sourceIds.Keys)
        {
            ringOf[source] = main;
        }

        // eventd tap SOURCE: what each source publishes, offered by the first stage of the main ring.
        taps.Ingress(GraphPlan.MainRing, main.Reader,
            [.. config.Topology.Sources.Where(s => sourceIds.ContainsKey(s.Name)).Select(s => (s.Name, sourceIds[s.Name]))]);

        var metrics = new List<StageMetrics>();
        var abandon = new SinkAbandon();
        // With a journal: the checkpoint of each aggregate that keeps one, by the name of its output ring.
        var aggregateCheckpoints = new Dictionary<string, AggregateCheckpointer>(StringComparer.Ordinal);
        int[] cpus = [.. config.Daemon.ConsumerCpus];
        // Room for the largest rendering of an event (binary frames grow ~6x as JSON) plus an
        // enrich row, twice, so a full buffer still takes one more event before it flushes.
        int bufferBytes = Math.Max(256 * 1024, 2 * (config.Daemon.MaxEventBytes * 6 + 256 + EnrichTable.MaxRowBytes));
        var pins = new Pins(cpus);
        if (journal is not null)
        {
            // A leaf of the main ring beside the first transforms: it waits for nothing, nothing
            // waits for it, and the ring cannot wrap past it, so an event's bytes stay in the arena
            // until the journal has copied them. The idle tick writes a group a hand-off left.
            main.Graph.Add(DaemonJournal.StageName, journal.Handler(main.Reader), after: null, pins.Next(), IdleTick);
        }

        try
        {
            foreach (TopologyStage stage in config.Topology.Stages)
            {
                RingContext<TWait> ctx = RingOfInputs(stage, ringOf);
                EventReader ring = ctx.Reader;
                Reach reach = ReachOf(stage, ctx, sourceIds);
                Stage[] after = stage.Upstream
                    .Where(input => input.Kind == ComponentKind.Transform && ctx.Stages.ContainsKey(input.Component))
                    .SelectMany(input => ctx.Stages[input.Component])
                    .Distinct()
                    .ToArray();
                string kind = stage.Kind == ComponentKind.Sink ? "sink" : "transform";
                StageMetrics stageMetrics = previous?.FirstOrDefault(m => m.Name == stage.Name && m.Kind == kind && m.Type == stage.Config.TypeName)
                    ?? new StageMetrics(stage.Name, kind) { Type = stage.Config.TypeName };
                StagePlan sp = plan[stage.Name];
                int n = sp.Threads;
                // One set of counters per thread of a split stage (one writer each), summed on read.
                StageMetrics[] parts = n > 1 ? stageMetrics.Split(n) : [stageMetrics];
                var placement = new Placement<TWait>(ctx, sp, after, pins, taps);

                switch (stage.Config)
                {
                    case FilterTransformConfig filter:
                        {
                            if (!FilterProgram.TryCompile(filter.Condition, out FilterProgram? program, out ExpressionError error))
                            {
                                throw new PipelineException($"transform '{filter.Name}': {error}");
                            }

                            int bit = AllocateBit(ctx.Bits, filter.Name);
                            placement.Outputs = taps.Marking(sp, ring, reach, bit);
                            placement.Place(i => new FilterHandler(ring, program, reach, bit, parts[i], sp.Split.For(i, n)), null);
                            ringOf[stage.Name] = ctx;
                            break;
                        }

                    case AggregateTransformConfig aggregate:
                        {
                            // Window results are new events: they go into a ring of the aggregate's own,
                            // consumed by its downstream stages in a graph of their own.
                            int slots = Math.Min(config.Daemon.RingSize, 65_536);
                            long arena = Math.Min(ArenaBytes(config.Daemon), 16L << 20);
                            var output = new RingContext<TWait>(aggregate.Name, new EventRing(slots, arena, config.Daemon.LockMemory, TWait.Parks), ownsRing: true,
                                catalogs[aggregate.Name]);
                            // A ring of its own, not yet fed: its catalog can be installed now.
                            output.Ring.UseCatalog(output.Catalog);
                            rings.Add(output);

                            // eventd tap AGGREGATE: its window results, as they enter its ring (source id 0 there).
                            taps.Ingress(aggregate.Name, output.Reader, [(aggregate.Name, 0)]);
                            ringOf[stage.Name] = output;
                            AggregateSpec spec = SpecOf(aggregate, n);
                            // Only an aggregate of the main stream reads journal sequences, and only one on
                            // one thread emits its windows whole and in order (what its sinks count by).
                            AggregateProgress? progress = null;
                            if (journal is not null && n == 1 && ReferenceEquals(ctx, main))
                            {
                                AggregateCheckpointer checkpointer = journal.Aggregate(aggregate.Name);
                                aggregateCheckpoints[aggregate.Name] = checkpointer;
                                progress = checkpointer.Attach();
                            }

                            placement.Place(i => new AggregateHandler(ring, output.Ring, spec, reach, parts[i], sp.Split.For(i, n), sp.StreamSources, progress), IdleTick);
                            break;
                        }

                    case RouteTransformConfig route:
                        {
                            var conditions = new FilterProgram[route.Routes.Count];
                            int[] routeBits = new int[route.Routes.Count];
                            for (int i = 0; i < conditions.Length; i++)
                            {
                                RouteOutput output = route.Routes[i];
                                if (!FilterProgram.TryCompile(output.Condition, out FilterProgram? program, out ExpressionError error))
                                {
                                    throw new PipelineException($"transform '{route.Name}', route '{output.Name}': {error}");
                                }

                                conditions[i] = program;
                                routeBits[i] = AllocateBit(ctx.Bits, $"{route.Name}.{output.Name}");
                            }

                            int unmatched = AllocateBit(ctx.Bits, $"{route.Name}.{RouteTransformConfig.UnmatchedOutput}");

                            // eventd tap ROUTE: every event that reached it (each leaves through one output at
                            // least); eventd tap ROUTE.OUTPUT: what that output let through, as inputs name it.
                            var points = new List<(string, ulong)> { (route.Name, 0) };
                            for (int i = 0; i < route.Routes.Count; i++)
                            {
                                points.Add(($"{route.Name}.{route.Routes[i].Name}", 1UL << routeBits[i]));
                            }

                            points.Add(($"{route.Name}.{RouteTransformConfig.UnmatchedOutput}", 1UL << unmatched));
                            placement.Outputs = taps.Outputs(sp, ring, reach, points);
                            placement.Place(i => new RouteHandler(ring, conditions, routeBits, unmatched, reach, parts[i], sp.Split.For(i, n)), null);
                            ringOf[stage.Name] = ctx;
                            break;
                        }

                    case SampleTransformConfig sample:
                        {
                            FieldSelector? key = sample.Key is { } k ? FieldSelector.Parse(k.ToString()) : null;
                            int bit = AllocateBit(ctx.Bits, sample.Name);
                            placement.Outputs = taps.Marking(sp, ring, reach, bit);
                            placement.Place(i => new SampleHandler(ring, sample.Rate, key, reach, bit, parts[i], sp.Split.For(i, n)), null);
                            ringOf[stage.Name] = ctx;
                            break;
                        }

                    case ThrottleTransformConfig throttle:
                        {
                            FieldSelector? key = throttle.Key is { } k ? FieldSelector.Parse(k.ToString()) : null;
                            int bit = AllocateBit(ctx.Bits, throttle.Name);
                            int maxKeys = Share(throttle.MaxKeys, n);
                            placement.Outputs = taps.Marking(sp, ring, reach, bit);
                            placement.Place(i => new ThrottleHandler(ring, throttle.Limit, key, maxKeys, reach, bit, parts[i], sp.Split.For(i, n)), null);
                            ringOf[stage.Name] = ctx;
                            break;
                        }

                    case DedupeTransformConfig dedupe:
                        {
                            var field = FieldSelector.Parse(dedupe.Field.ToString());
                            int bit = AllocateBit(ctx.Bits, dedupe.Name);
                            int maxKeys = Share(dedupe.MaxKeys, n);
                            placement.Outputs = taps.Marking(sp, ring, reach, bit);
                            placement.Place(i => new DedupeHandler(ring, field, dedupe.Window.Nanoseconds, maxKeys, reach, bit, parts[i], sp.Split.For(i, n)), null);
                            ringOf[stage.Name] = ctx;
                            break;
                        }

                    case EnrichTransformConfig enrich:
                        {
                            EnrichTable table;
                            try
                            {
                                table = EnrichTable.Load(enrich.Table, enrich.KeyColumn, [.. enrich.Columns]);
                            }
                            catch (EnrichTableException e)
                            {
                                throw new PipelineException($"transform '{enrich.Name}': {e.Message}");
                            }

                            var field = FieldSelector.Parse(enrich.Field.ToString());
                            int bit = AllocateBit(ctx.Bits, enrich.Name);
                            // One side array of matched rows per enrich stage, shared by its threads.
                            var rows = new EnrichRows(ring.Capacity);
                            placement.Outputs = taps.Marking(sp, ring, reach, bit);
                            placement.Place(i => new EnrichHandler(ring, field, table, reach, bit, parts[i], sp.Split.For(i, n), rows), null);
                            ringOf[stage.Name] = ctx;
                            break;
                        }

                    case SinkConfig sink:
                        // Only the main ring's sequences are journal sequences: a sink behind another ring does not checkpoint.
                        AddSink(placement, ring, sink, reach, stageMetrics, new SinkBuffer(bufferBytes, 16_384), abandon,
                            EnrichColumns.Upstream(after), ReferenceEquals(ctx, main) ? journal : null, taps.Sink(sink.Name), aggregateCheckpoints.GetValueOrDefault(ctx.Name));
                        break;

                    default:
                        throw new PipelineException($"transform '{stage.Name}': type '{stage.Config.TypeName}' is not supported by this build");
                }

                metrics.Add(stageMetrics);
            }
        }
        catch
        {
            foreach (RingContext<TWait> ctx in rings)
            {
                if (ctx.OwnsRing)
                {
                    ctx.Ring.Dispose();
                }
            }

            throw;
        }

        if (config.Daemon.IdleHandoff)
        {
            foreach (RingContext<TWait> ctx in rings)
            {
                ctx.Graph.EnableIdleHandoff();
            }
        }

        // Every stage thread, and at least one reader per source, will want a core: each graph
        // tells its own stages' wait strategies when it starts (nothing process-wide to rewrite).
        int busyThreads = rings.Sum(r => r.Graph.Stages.Count) + sourceIds.Count;
        foreach (RingContext<TWait> ctx in rings)
        {
            ctx.Graph.ExternalThreads = busyThreads - ctx.Graph.Stages.Count;
        }

        return new GraphParts(rings.Select(r => new RingGraph(r.Name, r.Ring, r.Graph, r.OwnsRing, r.Catalog)).ToList(), metrics, abandon)
        {
            Plan = plan.Describe(),
            Taps = taps.All,
        };
    }

    /// <summary>
    /// What the stages of each ring read, so the reader threads decode it once (see
    /// <see cref="FieldCatalog"/>): the main ring's under <see cref="GraphPlan.MainRing"/>, each
    /// aggregate's output ring's under the aggregate's name; which ring a stage reads is the plan's.
    /// </summary>
    internal static Dictionary<string, FieldCatalog> CatalogsOf(Topology topology, GraphPlan plan)
    {
        var builders = new Dictionary<string, FieldCatalog.Builder>(StringComparer.Ordinal) { [GraphPlan.MainRing] = new() };
        foreach (TopologyStage stage in topology.Stages)
        {
            try
            {
                FieldCatalog.Builder fields = builders[plan[stage.Name].Ring];
                switch (stage.Config)
                {
                    case FilterTransformConfig filter:
                        AddConditionFields(fields, filter.Condition);
                        break;
                    case RouteTransformConfig route:
                        foreach (RouteOutput output in route.Routes)
                        {
                            AddConditionFields(fields, output.Condition);
                        }

                        break;
                    case AggregateTransformConfig aggregate:
                        fields.AddKey(GroupKeyOf(aggregate));
                        builders[aggregate.Name] = new FieldCatalog.Builder();
                        break;
                    case SampleTransformConfig { Key: { Kind: FieldRefKind.Field } key }:
                        fields.AddField(key.Name);
                        break;
                    case ThrottleTransformConfig { Key: { Kind: FieldRefKind.Field } key }:
                        fields.AddField(key.Name);
                        break;
                    case DedupeTransformConfig { Field.Kind: FieldRefKind.Field } dedupe:
                        fields.AddField(dedupe.Field.Name);
                        break;
                    case EnrichTransformConfig { Field.Kind: FieldRefKind.Field } enrich:
                        fields.AddField(enrich.Field.Name);
                        break;
                }
            }
            catch (InvalidOperationException e)
            {
                // More distinct fields or keys on one ring than a catalog holds: this stage's go past it.
                string kind = stage.Kind == ComponentKind.Sink ? "sink" : "transform";
                throw new PipelineException($"{kind} '{stage.Name}': {e.Message}", stage.Config.Position);
            }
        }

        return builders.ToDictionary(b => b.Key, b => b.Value.Build(), StringComparer.Ordinal);
    }

    /// <summary>
    /// Plans the graph of a loaded config without building anything (no ring, no thread, no file):
    /// what only the plan can find wrong (more distinct <c>.fields</c> or group keys on one stream
    /// than the readers decode), as an error at the stage, so <c>validate</c> refuses it too.
    /// </summary>
    public static ConfigResult Check(ConfigResult loaded)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        if (loaded.Config is not { } config)
        {
            return loaded;
        }

        var sourceIds = new Dictionary<string, ushort>(StringComparer.Ordinal);
        foreach (SourceConfig source in config.Topology.Sources)
        {
            sourceIds[source.Name] = (ushort)sourceIds.Count;
        }

        try
        {
            _ = CatalogsOf(config.Topology, GraphPlan.Of(config, sourceIds));
            return loaded;
        }
        catch (PipelineException e) when (e.Position is { } at)
        {
            ConfigDiagnostic error = new(at, DiagnosticSeverity.Error, e.Message);
            return new ConfigResult(null, [.. loaded.Diagnostics.Append(error).OrderBy(d => d.Position)]);
        }
    }

    /// <summary>An aggregate's group key as the catalog and the partitions know it: the spec's own.</summary>
    internal static KeyPart[] GroupKeyOf(AggregateTransformConfig aggregate) => SpecOf(aggregate, threads: 1).KeyParts();

    private static void AddConditionFields(FieldCatalog.Builder fields, string condition)
    {
        // A condition that does not compile is reported where its stage is built.
        if (FilterProgram.TryCompile(condition, out FilterProgram? program, out _))
        {
            foreach (string name in program.FieldNames)
            {
                fields.AddField(name);
            }
        }
    }

    /// <summary>A thread's share of a per-stage bound (max_groups, max_keys): rounded up, so the
    /// threads together hold at least the configured bound and never much more.</summary>
    private static int Share(int bound, int threads) => (int)(((long)bound + threads - 1) / threads);

    /// <summary>Releases a built graph set that will never start (a reload that was refused late).</summary>
    public static void Discard(GraphParts parts)
    {
        foreach (RingGraph g in parts.Graphs)
        {
            if (g.OwnsRing)
            {
                g.Ring.Dispose();
            }
        }
    }

    private static RingContext<TWait> RingOfInputs<TWait>(TopologyStage stage, Dictionary<string, RingContext<TWait>> ringOf)
        where TWait : struct, IWaitStrategy
    {
        RingContext<TWait>? ring = null;
        foreach (StageInput input in stage.Upstream)
        {
            RingContext<TWait> r = ringOf[input.Component];
            if (ring is not null && ring != r)
            {
                throw new PipelineException(
                    $"'{stage.Name}': its inputs come from different streams ({ring.Name} and {r.Name}); an aggregate's results can only be joined with what comes after that aggregate — use one stage per stream");
            }

            ring = r;
        }

        return ring ?? throw new PipelineException($"'{stage.Name}' has no inputs");
    }

    private static AggregateSpec SpecOf(AggregateTransformConfig config, int threads)
    {
        var metrics = AggregateMetrics.None;
        foreach (AggregateMetric metric in config.Metrics)
        {
            metrics |= metric switch
            {
                AggregateMetric.Count => AggregateMetrics.Count,
                AggregateMetric.Sum => AggregateMetrics.Sum,
                AggregateMetric.Min => AggregateMetrics.Min,
                AggregateMetric.Max => AggregateMetrics.Max,
                AggregateMetric.Mean => AggregateMetrics.Mean,
                AggregateMetric.P50 => AggregateMetrics.P50,
                AggregateMetric.P90 => AggregateMetrics.P90,
                AggregateMetric.P99 => AggregateMetrics.P99,
                _ => AggregateMetrics.P999,
            };
        }

        return new AggregateSpec
        {
            WindowNanos = config.Window.Nanoseconds,
            GroupBy = config.GroupBy.Select(f => new GroupField(
                f.Kind switch { FieldRefKind.Type => GroupFieldKind.Type, FieldRefKind.Key => GroupFieldKind.Key, _ => GroupFieldKind.Field },
                f.Name)).ToArray(),
            Metrics = metrics,
            EventTime = config.Time == AggregateTime.Event,
            LatenessNanos = config.AllowedLateness.Nanoseconds,
            MaxGroups = Share(config.MaxGroups, threads),
        };
    }

    private static void AddSink<TWait>(Placement<TWait> placement, EventReader ring, SinkConfig sink, Reach reach,
        StageMetrics metrics, SinkBuffer buffer, SinkAbandon abandon, EnrichColumns? enrich, DaemonJournal? journal, StageTap? tap,
        AggregateCheckpointer? behind = null)
        where TWait : struct, IWaitStrategy
    {
        switch (sink)
        {
            case StdoutSinkConfig:
                placement.Place(_ => Sink(ring, reach, metrics, new StdoutTransport(), buffer, abandon, enrich, tap: tap), IdleTick);
                return;
            case FileSinkConfig file:
                // Behind an aggregate that checkpoints, the file counts whole windows (JOURNAL.md, "Aggregates and replay").
                SinkCheckpointer? checkpoint = behind is not null ? behind.Journal.WindowCheckpointer(sink.Name) : journal?.Checkpointer(sink.Name);
                if (behind is not null)
                {
                    behind.Behind(checkpoint!);
                }

                var fileTransport = new FileTransport(file.Path, file.RotateBytes?.Bytes, FsyncModeOf(file.Fsync), file.FsyncInterval.ToTimeSpan(),
                    checkpoint: checkpoint);
                placement.Place(_ => Sink(ring, reach, metrics, fileTransport, buffer, abandon, enrich, checkpoint, tap), IdleTick);
                return;
            case TcpSinkConfig tcp:
                // A sink of the main stream checkpoints what the peer acknowledged (at least once); behind an aggregate it does not.
                SinkCheckpointer? tcpCheckpoint = behind is null ? journal?.Checkpointer(sink.Name) : null;
                var tcpTransport = new TcpTransport(tcp.Address.Host, tcp.Address.Port, tcp.MaxBackoff.ToTimeSpan(), checkpoint: tcpCheckpoint);
                placement.Place(_ => Sink(ring, reach, metrics, tcpTransport, buffer, abandon, enrich, tcpCheckpoint, tap), IdleTick);
                return;
            case BlackholeSinkConfig:
                placement.Place(_ => Sink(ring, reach, metrics, new BlackholeTransport(), buffer, abandon, enrich, tap: tap), IdleTick);
                return;
            case NatsSinkConfig nats:
                NatsTransport natsTransport;
                try
                {
                    natsTransport = new NatsTransport(nats.Url, nats.Subject, partitionBy: nats.PartitionBy, partitions: nats.Partitions);
                }
                catch (Exception e) when (e is ArgumentException or FormatException)
                {
                    throw new PipelineException($"sink '{sink.Name}': {e.Message}");
                }

                placement.Place(_ => Sink(ring, reach, metrics, natsTransport, buffer, abandon, enrich, tap: tap), IdleTick);
                return;
            case Testing.CaptureSinkConfig capture:
                // Only eventd test places it: what the watched transform emits, kept in memory.
                placement.Place(_ => Sink(ring, reach, metrics, capture.Transport, buffer, abandon, enrich, tap: tap), IdleTick);
                return;
            default:
                throw new PipelineException($"sink '{sink.Name}': type '{sink.TypeName}' is not supported by this build");
        }
    }

    private static SinkHandler<T> Sink<T>(EventReader ring, Reach reach, StageMetrics metrics, T transport, SinkBuffer buffer, SinkAbandon abandon,
        EnrichColumns? enrich, SinkCheckpointer? checkpoint = null, StageTap? tap = null)
        where T : struct, ISinkTransport
    {
        try
        {
            transport.Open();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            throw new PipelineException($"sink '{metrics.Name}': {e.Message}");
        }

        return new SinkHandler<T>(ring, reach, metrics, transport, buffer, abandon, enrich, checkpoint, tap);
    }

    private static FsyncMode FsyncModeOf(FsyncPolicy policy) => policy switch
    {
        FsyncPolicy.Always => FsyncMode.Always,
        FsyncPolicy.Interval => FsyncMode.Interval,
        _ => FsyncMode.Never,
    };

    private static Reach ReachOf<TWait>(TopologyStage stage, RingContext<TWait> ring, Dictionary<string, ushort> sourceIds)
        where TWait : struct, IWaitStrategy
    {
        ulong sources = 0, passes = 0;
        foreach (StageInput input in stage.Upstream)
        {
            if (input.Kind == ComponentKind.Source)
            {
                sources |= 1UL << sourceIds[input.Component];
            }
            else if (input.Component == ring.Name && ring.OwnsRing)
            {
                // Results of the aggregate that owns this ring: its events carry source id 0.
                sources |= 1UL;
            }
            else if (ring.Bits.TryGetValue(input.ToString(), out int bit))
            {
                passes |= 1UL << bit;
            }
            else
            {
                throw new PipelineException($"'{stage.Name}': input '{input}' is not supported by this build");
            }
        }

        return new Reach(sources, passes);
    }

    private static int AllocateBit(Dictionary<string, int> bits, string output)
    {
        if (bits.Count == MaxBits)
        {
            throw new PipelineException($"at most {MaxBits} filter and route outputs per ring");
        }

        int bit = bits.Count;
        bits[output] = bit;
        return bit;
    }

    /// <summary>Creates (does not start) a source writing into the pipeline's ring.</summary>
    public static Source CreateSource(SourceConfig source, SourceMetrics metrics, Pipeline pipeline, DaemonSettings daemon)
    {
        int maxEventBytes = source.MaxEventBytes > 0 ? source.MaxEventBytes : daemon.MaxEventBytes;
        return source switch
        {
            TcpSourceConfig tcp => new StreamSource(source, metrics, pipeline.Ring, pipeline.Errors, maxEventBytes,
                daemon.IoThreads, (tcp.IdleTimeout ?? SourceConfig.DefaultIdleTimeout).ToTimeSpan(), pipeline.DurableHorizon),
            UnixSourceConfig unix => new StreamSource(source, metrics, pipeline.Ring, pipeline.Errors, maxEventBytes,
                daemon.IoThreads, (unix.IdleTimeout ?? SourceConfig.DefaultIdleTimeout).ToTimeSpan(), pipeline.DurableHorizon),
            UdpSourceConfig udp => new UdpSource(udp, metrics, pipeline.Ring, pipeline.Errors, maxEventBytes),
            NatsSourceConfig nats => new NatsSource(nats, metrics, pipeline.Ring, pipeline.Errors, maxEventBytes),
            _ => throw new PipelineException($"source '{source.Name}': type '{source.TypeName}' is not supported by this build"),
        };
    }

    /// <summary>The largest event any source accepts: one journal write must hold one such record.</summary>
    private static int MaxEventBytes(EventdConfig config) =>
        config.Topology.Sources.Select(s => s.MaxEventBytes).Append(config.Daemon.MaxEventBytes).Max();

    private static long ArenaBytes(DaemonSettings daemon)
    {
        // The arena is a byte ring addressed by mask: round the configured size up to a power of two.
        long bytes = Math.Max(4096, daemon.ArenaSize.Bytes);
        return (long)System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)bytes);
    }
}

/// <summary>Built, not yet started graphs (the main ring's first, then one per aggregate) with what the daemon reads of them.</summary>
public sealed record GraphParts(List<RingGraph> Graphs, List<StageMetrics> Metrics, SinkAbandon Abandon)
{
    /// <summary>The plan the graphs were built from (<see cref="GraphPlan.Describe"/>), for <c>ctl info</c>.</summary>
    public string Plan { get; init; } = "";

    /// <summary>What <c>eventd tap</c> can tap, by name: sources, stages, route outputs and sinks, in the topology's order.</summary>
    public IReadOnlyDictionary<string, StageTap> Taps { get; init; } = new Dictionary<string, StageTap>();
}

/// <summary>A ring and the graph consuming it. Aggregates' rings are owned by the graph set and replaced on reload.</summary>
/// <param name="Catalog">What the graph's stages read of the ring: installed by <see cref="Pipeline.Use"/>.</param>
public sealed record RingGraph(string Name, EventRing Ring, IEventGraph Graph, bool OwnsRing, FieldCatalog Catalog);

/// <summary>Build-time bookkeeping of one ring: its graph, its stages by name and its filter bits.</summary>
internal sealed class RingContext<TWait>(string name, EventRing ring, bool ownsRing, FieldCatalog catalog)
    where TWait : struct, IWaitStrategy
{
    public string Name { get; } = name;

    public EventRing Ring { get; } = ring;

    /// <summary>What this ring's stages read; installed on the ring when the graph is put to use.</summary>
    public FieldCatalog Catalog { get; } = catalog;

    /// <summary>The read-only side of the ring that this graph's stages get.</summary>
    public EventReader Reader { get; } = ring.ReaderFor(catalog);

    public bool OwnsRing { get; } = ownsRing;

    public EventGraph<EventSlot, TWait> Graph { get; } = new(ring.Slots, ring.Sequencer);

    /// <summary>Each component's stage; the threads of a split stage, in partition order.</summary>
    public Dictionary<string, Stage[]> Stages { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, int> Bits { get; } = new(StringComparer.Ordinal);
}

/// <summary>A config that validated but cannot be built (a sink that cannot open, a limit exceeded).</summary>
/// <param name="position">The component it is about, when the plan (not the machine) is what refuses it.</param>
public sealed class PipelineException(string message, ConfigPosition? position = null) : Exception(message)
{
    public ConfigPosition? Position { get; } = position;
}
