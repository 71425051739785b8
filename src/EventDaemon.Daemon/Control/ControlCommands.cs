namespace EventDaemon.Daemon.Control;

/// <summary>The command lines the control socket understands (SPEC §4), and the <c>help</c> reply.</summary>
public static class ControlCommands
{
    public const string Stats = "stats";
    public const string StatsJson = "stats json";
    public const string Metrics = "metrics";
    public const string Info = "info";
    public const string Health = "health";
    public const string Latency = "latency";
    public const string Errors = "errors";
    public const string Config = "config";
    public const string Reload = "reload";
    public const string Drain = "drain";
    public const string Help = "help";

    /// <summary><c>tap STAGE [sample N]</c>: streams the events leaving a stage as JSON lines until the client closes.</summary>
    public const string Tap = "tap";

    /// <summary>The reply to <c>help</c>: one command per line with what it does.</summary>
    public const string HelpText =
        "stats       counters, one 'name value' line per series\n" +
        "stats json  the same counters as one JSON object\n" +
        "metrics     the same counters in the Prometheus text exposition format\n" +
        "info        version, pid, uptime, config path, ring and arena sizes, threads and CPUs\n" +
        "health      'ok', or one line per problem\n" +
        "latency     ingest-to-stage latency percentiles per transform and sink\n" +
        "errors      the last bad-input records with source and reason\n" +
        "config      the effective config\n" +
        "reload      re-read the config and tables (root or the daemon's user)\n" +
        "drain       stop sources, finish in-flight events, flush, exit (root or the daemon's user)\n" +
        "tap STAGE [sample N]  stream the events leaving a stage as JSON lines, 1 in N (root or the daemon's user)\n" +
        "help        this list\n";

    /// <summary>Whether <paramref name="command"/> changes the daemon's state, so needs root or the daemon's user.</summary>
    public static bool ChangesState(string command) => command is Reload or Drain;
}
