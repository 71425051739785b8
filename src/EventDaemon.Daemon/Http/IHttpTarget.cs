namespace EventDaemon.Daemon.Http;

/// <summary>Where the daemon is in its life, as <c>GET /ready</c> reports it.</summary>
public enum DaemonPhase
{
    /// <summary>Building the pipeline, binding sources (and replaying a journal): not ready.</summary>
    Starting,

    /// <summary>Every source bound and every consumer running (systemd's <c>READY=1</c>).</summary>
    Ready,

    /// <summary>Sources stopped, events in flight being finished: not ready for new traffic.</summary>
    Draining,
}

/// <summary>
/// What the HTTP endpoint asks of the running daemon. <see cref="HttpServer"/> calls these on its
/// own thread, never on a pipeline thread; an implementation only reads counters and snapshots.
/// An exception becomes a <c>500</c> with its message on one line.
/// </summary>
public interface IHttpTarget
{
    DaemonPhase Phase { get; }

    /// <summary><c>ok</c>, or one line per problem (as the <c>health</c> control command).</summary>
    string Health();

    /// <summary>The Prometheus exposition, as the <c>metrics</c> control command replies it.</summary>
    string Metrics();
}
