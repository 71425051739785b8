using EventDaemon.Daemon.Metrics;
using EventDaemon.Daemon.Runtime;

namespace EventDaemon.Daemon.Control;

/// <summary>
/// What the control socket asks of the running daemon. <see cref="ControlServer"/> calls these on
/// its own threads, never on a pipeline thread, so an implementation only reads counters and
/// snapshots; it must not block the pipeline. An exception becomes an <c>error:</c> reply.
/// </summary>
public interface IControlTarget
{
    /// <summary>Every metric family, in the order of the SPEC §4 table.</summary>
    IReadOnlyList<MetricFamily> CollectMetrics();

    /// <summary>
    /// Each transform's and sink's latency histogram, for the Prometheus histogram of <c>metrics</c>;
    /// none by default (a target without stages).
    /// </summary>
    IReadOnlyList<StageLatency> LatencyHistograms() => [];

    /// <summary>The journal's sync times, for <c>eventd_journal_sync_seconds</c>; null without a journal.</summary>
    Stages.Metrics.LatencyHistogram? JournalSyncLatency() => null;

    /// <summary>Version, pid, uptime, config path, ring and arena sizes, threads and their CPUs.</summary>
    string Info();

    /// <summary><c>ok</c>, or one line per problem.</summary>
    string Health();

    /// <summary>The ingest→stage latency percentile table.</summary>
    string Latency();

    /// <summary>The last bad-input records, with source and reason.</summary>
    string Errors();

    /// <summary>The effective config, as TOML.</summary>
    string Config();

    /// <summary>Re-reads the config and tables; a rejected config leaves the old one running.</summary>
    ControlReply Reload();

    /// <summary>Starts the drain and returns; the reply is written before the process exits.</summary>
    ControlReply Drain();

    /// <summary>
    /// The tap point of <paramref name="stage"/> for <c>tap</c>; null when it has none, with
    /// <paramref name="tappable"/> the stages that do. A target without taps has none.
    /// </summary>
    StageTap? FindTap(string stage, out IReadOnlyList<string> tappable)
    {
        tappable = [];
        return null;
    }
}
