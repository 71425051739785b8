using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Journal;
using EventDaemon.Daemon.Metrics;
using EventDaemon.Daemon.Sinks;
using EventDaemon.Daemon.Sources;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Ingest;
using EventDaemon.Ring;
using EventDaemon.Stages.Metrics;

namespace EventDaemon.Daemon.Runtime;

/// <summary>
/// The running form of a config: the ring, its consumer graph (transforms and sinks), and the
/// sources feeding it. Built by <see cref="PipelineBuilder"/>; owned by the daemon host.
/// </summary>
public sealed class Pipeline : IDisposable
{
    internal Pipeline(EventdConfig config, EventRing ring, BadInputLog errors)
    {
        Config = config;
        Ring = ring;
        Errors = errors;
    }

    public EventdConfig Config { get; internal set; }

    public EventRing Ring { get; }

    public BadInputLog Errors { get; }

    /// <summary>The journal (SPEC §7), opened at start and kept across reloads; null without a <c>[journal]</c> table.</summary>
    /// <remarks><see cref="DaemonJournal.DurableRingSequence"/> is the cheap read of what is durable.</remarks>
    public DaemonJournal? Journal { get; internal set; }

    /// <summary>What stream sources acknowledge against (acks, the JSON half-close): the journal's
    /// synced sequence with a <c>[journal]</c> table; null = the ring's published cursor (no journal).</summary>
    public IDurableHorizon? DurableHorizon { get; internal set; }

    public List<Source> Sources { get; } = [];

    public List<SourceMetrics> SourceMetrics { get; } = [];

    /// <summary>Source name → the id stamped on its events (stable across reloads).</summary>
    public Dictionary<string, ushort> SourceIds { get; internal set; } = [];

    /// <summary>Transforms and sinks of the current graph, in dependency order.</summary>
    public List<StageMetrics> StageMetrics { get; internal set; } = [];

    /// <summary>The main ring's graph followed by one per aggregate, in the order they halt.</summary>
    public List<RingGraph> Graphs { get; internal set; } = [];

    /// <summary>Where each stage runs: rings, threads, splits, fusing (<see cref="GraphPlan.Describe"/>).</summary>
    public string Plan { get; private set; } = "";

    /// <summary>Every stage of every graph.</summary>
    public IEnumerable<Stage> AllStages => Graphs.SelectMany(g => g.Graph.Stages);

    /// <summary>
    /// Events the drain gave up on: what sinks dropped once told to abandon (their buffered batch and
    /// the rest of the ring behind it), plus, for a sink whose thread never came back, the slots it
    /// had not reached. Counted once per sink that did not deliver the event. 0 until a drain abandons.
    /// </summary>
    public long AbandonedEvents => Volatile.Read(ref _abandoned);

    private long _abandoned;

    /// <summary>Set when sinks must stop retrying a failing destination (drain timed out).</summary>
    public SinkAbandon Abandon { get; internal set; } = new();

    /// <summary>The stages <c>eventd tap</c> can tap, by name (marking transforms on one thread).</summary>
    public IReadOnlyDictionary<string, StageTap> Taps { get; private set; } = new Dictionary<string, StageTap>();

    /// <summary>Makes <paramref name="parts"/> the current graph (at start, and on reload once the old one halted).</summary>
    public void Use(GraphParts parts)
    {
        foreach (RingGraph graph in parts.Graphs)
        {
            // No stage runs and no producer appends now (see EventRing.UseCatalog).
            graph.Ring.UseCatalog(graph.Catalog);
        }

        Graphs = parts.Graphs;
        Plan = parts.Plan;
        StageMetrics = parts.Metrics;
        Abandon = parts.Abandon;
        Taps = parts.Taps;
    }

    public Stage? FindStage(string name)
    {
        return AllStages.FirstOrDefault(stage => stage.Name == name);
    }

    /// <summary>
    /// Runs the journal's retention: segments every stage of the main ring has passed may go once the
    /// journal holds more than <c>retention_bytes</c>. Until sinks checkpoint what they delivered, a
    /// stage's position (its sinks have handed the events to their transport) is what "passed" means.
    /// </summary>
    public int RetainJournal()
    {
        if (Journal is not { } journal || Graphs.Count == 0)
        {
            return 0;
        }

        long passed = Ring.Sequencer.Cursor.Value;
        foreach (Stage stage in Graphs[0].Graph.Stages)
        {
            passed = Math.Min(passed, stage.Position);
        }

        return journal.Retain(passed);
    }

    /// <summary>Starts consumers first, then binds sources: nothing is read before it can be processed.</summary>
    public void Start()
    {
        StartGraphs(Sequence.InitialValue);
        try
        {
            // What the sinks had not delivered before the last stop, before any live event.
            Journal?.Replay(Ring, Hosting.Log.Info);
            foreach (Source source in Sources)
            {
                source.Start();
            }
        }
        catch
        {
            foreach (Source source in Sources)
            {
                source.Stop(TimeSpan.Zero);
            }

            HaltGraphs(TimeSpan.FromSeconds(5));
            throw;
        }
    }

    /// <summary>Starts every graph: the main one after <paramref name="mainStartAfter"/>, aggregates' fresh rings from the start.</summary>
    public void StartGraphs(long mainStartAfter)
    {
        for (int i = Graphs.Count - 1; i >= 0; i--)
        {
            Graphs[i].Graph.Start(i == 0 ? mainStartAfter : Sequence.InitialValue);
        }
    }

    /// <summary>Halts graphs in order: an aggregate's results are published before its downstream graph halts.</summary>
    public bool HaltGraphs(TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        bool all = true;
        foreach (RingGraph g in Graphs)
        {
            TimeSpan left = deadline - DateTime.UtcNow;
            all &= g.Graph.Halt(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1));
        }

        return all;
    }

    /// <summary>Releases graphs (and aggregates' rings) that have halted.</summary>
    public static void DisposeGraphs(List<RingGraph> graphs)
    {
        foreach (RingGraph g in graphs)
        {
            g.Graph.Dispose();
            if (g.OwnsRing)
            {
                g.Ring.Dispose();
            }
        }
    }

    /// <summary>
    /// Stops sources (reading what senders already sent), then lets every stage finish what is in
    /// the ring and flush. Returns false if something did not finish within <paramref name="timeout"/>.
    /// </summary>
    public bool Drain(TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        TimeSpan quiet = TimeSpan.FromSeconds(Math.Min(2, timeout.TotalSeconds));

        // Sources stop on a thread of their own: a reader blocked on a full ring behind a sink that
        // cannot deliver never returns until that sink moves, and would hold the drain forever.
        void StopSources()
        {
            foreach (Source source in Sources)
            {
                source.Stop(quiet);
            }
        }

        var stopSources = new Thread(Hosting.Fatal.Guard(StopSources)) { Name = "drain-sources", IsBackground = true };
        stopSources.Start();
        bool drained = stopSources.Join(timeout);
        long droppedBefore = SinkDropped();
        if (!drained)
        {
            // Give up on the stuck sink: it drops what it cannot write, the ring moves, readers finish.
            Abandon.Abandon();
            stopSources.Join(TimeSpan.FromSeconds(5));
        }

        TimeSpan left = deadline - DateTime.UtcNow;
        bool halted = HaltGraphs(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1));
        if (!halted)
        {
            // A sink still retrying a dead destination: give up on it so the process can exit.
            drained = false;
            Abandon.Abandon();
            halted = HaltGraphs(TimeSpan.FromSeconds(5));
        }

        if (!drained)
        {
            Volatile.Write(ref _abandoned, _abandoned + SinkDropped() - droppedBefore + (halted ? 0 : UnreachedBySinks()));
        }

        return drained;
    }

    /// <summary>Events sinks have dropped on being told to abandon (<c>events_dropped_total{reason="sink_abandoned"}</c>).</summary>
    private long SinkDropped()
    {
        long sum = 0;
        foreach (StageMetrics m in StageMetrics)
        {
            if (m.Kind == "sink")
            {
                sum += m.Abandoned;
            }
        }

        return sum;
    }

    /// <summary>Slots behind the ring's cursor at each sink thread still running (one whose write never returned).</summary>
    private long UnreachedBySinks()
    {
        var sinks = new HashSet<string>(StageMetrics.Where(m => m.Kind == "sink").Select(m => m.Name), StringComparer.Ordinal);
        long sum = 0;
        foreach (Stage stage in AllStages)
        {
            if (stage.Processor.IsRunning && stage.Members.Any(sinks.Contains))
            {
                sum += stage.Lag;
            }
        }

        return sum;
    }

    public void Dispose()
    {
        foreach (Source source in Sources)
        {
            source.Dispose();
        }

        if (AllStages.Any(stage => stage.Processor.IsRunning))
        {
            // A sink whose write never returned (even after the drain abandoned it) still holds its
            // place in the ring: unmapping the ring under it would crash the exit. The process is
            // ending; the kernel takes the memory back.
            return;
        }

        // After every stage has stopped: the journal stage appends on its own thread until then.
        Journal?.Dispose();
        DisposeGraphs(Graphs);
        Ring.Dispose();
    }
}
