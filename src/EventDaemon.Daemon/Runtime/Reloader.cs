using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Control;
using EventDaemon.Daemon.Hosting;
using EventDaemon.Daemon.Metrics;
using EventDaemon.Daemon.Sources;
using EventDaemon.Events.Ingest;

namespace EventDaemon.Daemon.Runtime;

/// <summary>
/// Applies a new config to a running pipeline without losing an event. The new graph is built
/// first (an error leaves the old one untouched); then producers are held at the ring's door, the
/// old graph finishes everything published, and the new graph starts exactly where it stopped.
/// Sources whose settings did not change keep their sockets and connections.
/// </summary>
public static class Reloader
{
    private static readonly TimeSpan HoldTimeout = TimeSpan.FromSeconds(10);

    public static ControlReply Reload(Pipeline pipeline, ConfigResult loaded)
    {
        if (loaded.Config is not { } next)
        {
            return new ControlReply(false, "error: reload refused; the running config stays:\n" + ErrorFormatter.Format(loaded.Errors));
        }

        if (!next.Daemon.Equals(pipeline.Config.Daemon))
        {
            return new ControlReply(false, "error: reload refused: [daemon] settings changed (ring, arena, sockets or threads); restart eventd to apply them");
        }

        if (!Equals(next.Journal, pipeline.Config.Journal))
        {
            return new ControlReply(false, "error: reload refused: [journal] settings changed; restart eventd to apply them (the journal is replayed at start)");
        }

        // Sources: keep the unchanged ones (same settings, wherever they sit in the file).
        var keep = new HashSet<string>(StringComparer.Ordinal);
        foreach (SourceConfig source in next.Topology.Sources)
        {
            if (pipeline.Config.Sources.TryGetValue(source.Name, out SourceConfig? old) && SameSettings(old, source))
            {
                keep.Add(source.Name);
            }
        }

        var ids = new Dictionary<string, ushort>(StringComparer.Ordinal);
        foreach (string name in keep)
        {
            ids[name] = pipeline.SourceIds[name];
        }

        foreach (SourceConfig source in next.Topology.Sources)
        {
            if (!ids.ContainsKey(source.Name))
            {
                ushort id = 0;
                while (ids.ContainsValue(id))
                {
                    id++;
                }

                ids[source.Name] = id;
            }
        }

        GraphParts parts;
        try
        {
            parts = PipelineBuilder.BuildGraph(pipeline.Ring, next, ids, pipeline.StageMetrics, pipeline.Taps, pipeline.Journal);
        }
        catch (PipelineException e)
        {
            return new ControlReply(false, $"error: reload refused; the running config stays: {e.Message}");
        }

        // Stop sources that go away or change: they read what was sent to them into the ring first.
        var stopped = pipeline.Sources.Where(s => !keep.Contains(s.Name)).ToList();
        foreach (Source source in stopped)
        {
            source.Stop(TimeSpan.FromSeconds(2));
            pipeline.Sources.Remove(source);
            pipeline.SourceMetrics.RemoveAll(m => m.Name == source.Name);
        }

        // Hold the producers, let the old graph finish what is published, start the new one there.
        // A producer that waits for space behind a sink that cannot deliver holds the turn: then
        // the reload is refused rather than hanging the control socket.
        if (!pipeline.Ring.TryBeginBatch(HoldTimeout, out IngestBatch hold))
        {
            PipelineBuilder.Discard(parts);
            return new ControlReply(false,
                "error: reload refused: the ring is full and its producers cannot be paused (a sink is not delivering, see 'health'); the running config stays");
        }

        try
        {
            long cursor = pipeline.Ring.Sequencer.Cursor.Value;
            List<RingGraph> old = pipeline.Graphs;
            if (!pipeline.HaltGraphs(HoldTimeout))
            {
                // A sink of the old graph cannot deliver what it holds: it gives up its batch
                // (counted as events_dropped_total{reason="sink_abandoned"}) so the new config,
                // presumably fixing it, can take over.
                pipeline.Abandon.Abandon();
                pipeline.HaltGraphs(TimeSpan.FromSeconds(5));
            }

            Pipeline.DisposeGraphs(old);
            pipeline.Use(parts);
            pipeline.Config = next;
            pipeline.SourceIds = ids;
            pipeline.StartGraphs(cursor);
        }
        finally
        {
            hold.Dispose();
        }

        var failed = new List<string>();
        foreach (SourceConfig config in next.Topology.Sources.Where(s => !keep.Contains(s.Name)))
        {
            var metrics = new SourceMetrics(config.Name, ids[config.Name]);
            Source source = PipelineBuilder.CreateSource(config, metrics, pipeline, next.Daemon);
            try
            {
                source.Start();
                pipeline.Sources.Add(source);
                pipeline.SourceMetrics.Add(metrics);
            }
            catch (SourceBindException e)
            {
                failed.Add(e.Message);
            }
        }

        return failed.Count == 0
            ? new ControlReply(true, $"reloaded: {parts.Graphs.Sum(g => g.Graph.Stages.Count)} stages, {pipeline.Sources.Count} sources")
            : new ControlReply(false, "error: reloaded, but some sources could not start:\n" + string.Join('\n', failed));
    }

    /// <summary>Who asked for a reload, as the log names it.</summary>
    public const string BySignal = "SIGHUP";

    /// <summary>Who asked for a reload, as the log names it.</summary>
    public const string BySocket = "control socket";

    /// <summary>
    /// Logs a reload's outcome, whoever asked for it: the first line at info when it took effect,
    /// else at error, then each reason on a line of its own at the same level (so journald files
    /// every line of a refusal as an error, not only the first). Returns <paramref name="reply"/>.
    /// </summary>
    /// <param name="trigger"><see cref="BySignal"/> or <see cref="BySocket"/>.</param>
    public static ControlReply Logged(ControlReply reply, string trigger)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        string text = reply.Text.StartsWith("error: ", StringComparison.Ordinal) ? reply.Text["error: ".Length..] : reply.Text;
        string outcome = reply.Ok ? "ok" : text.StartsWith("reloaded", StringComparison.Ordinal) ? "partial" : "refused";
        LogLevel level = reply.Ok ? LogLevel.Info : LogLevel.Error;
        ReadOnlySpan<LogField> fields = [new("reload", outcome), new("trigger", trigger)];
        string[] lines = text.Split('\n');
        Log.Write(level, $"{trigger}: {lines[0]}", fields);
        for (int i = 1; i < lines.Length; i++)
        {
            Log.Write(level, $"{trigger}: {lines[i]}", fields);
        }

        return reply;
    }

    /// <summary>Same settings, wherever the table sits in the file (positions differ after edits).</summary>
    private static bool SameSettings(SourceConfig a, SourceConfig b) =>
        a.Format == b.Format && a.MaxEventBytes == b.MaxEventBytes && (a, b) switch
        {
            (TcpSourceConfig x, TcpSourceConfig y) => x.Address == y.Address && x.MaxConnections == y.MaxConnections && x.IdleTimeout == y.IdleTimeout,
            (UdpSourceConfig x, UdpSourceConfig y) => x.Address == y.Address,
            (UnixSourceConfig x, UnixSourceConfig y) => x.Path == y.Path && x.MaxConnections == y.MaxConnections && x.IdleTimeout == y.IdleTimeout,
            _ => false,
        };
}
