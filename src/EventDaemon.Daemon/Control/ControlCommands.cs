using System.Text;

namespace EventDaemon.Daemon.Control;

/// <summary>One control command: the line sent over the socket and what it does.</summary>
public readonly record struct ControlCommand(string Line, string Description);

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

    /// <summary><c>tap NAME [sample N]</c>: streams the events of a source, stage, route output or sink as JSON lines until the client closes.</summary>
    public const string Tap = "tap";

    /// <summary>
    /// Every command the server answers, in the order <c>help</c> lists them. The server's
    /// <c>help</c> reply and the client's offline <c>eventd ctl help</c> (and its suggestions and
    /// shell completion) are both made from this one list, so they cannot disagree.
    /// </summary>
    public static IReadOnlyList<ControlCommand> All { get; } =
    [
        new(Stats, "counters, one 'name value' line per series"),
        new(StatsJson, "the same counters as one JSON object"),
        new(Metrics, "the same counters in the Prometheus text exposition format"),
        new(Info, "version, pid, uptime, config path, ring and arena sizes, threads and CPUs"),
        new(Health, "'ok', or one line per problem"),
        new(Latency, "ingest-to-stage latency percentiles per transform and sink"),
        new(Errors, "the last bad-input records with source and reason"),
        new(Config, "the effective config"),
        new(Reload, "re-read the config and tables (root or the daemon's user)"),
        new(Drain, "stop sources, finish in-flight events, flush, exit (root or the daemon's user)"),
        new("tap NAME [sample N]", "stream the events of a source, stage, route output or sink as JSON lines, 1 in N (root or the daemon's user)"),
        new(Help, "this list"),
    ];

    /// <summary>The reply to <c>help</c>: one command per line with what it does.</summary>
    public static string HelpText { get; } = Describe(All);

    /// <summary>Whether <paramref name="command"/> changes the daemon's state, so needs root or the daemon's user.</summary>
    public static bool ChangesState(string command) => command is Reload or Drain;

    private static string Describe(IReadOnlyList<ControlCommand> commands)
    {
        // The column is as wide as the longest command line plus two spaces, as the list was written by hand.
        int width = 0;
        foreach (ControlCommand command in commands)
        {
            width = Math.Max(width, command.Line.Length);
        }

        var text = new StringBuilder();
        foreach (ControlCommand command in commands)
        {
            text.Append(command.Line.PadRight(width + 2)).Append(command.Description).Append('\n');
        }

        return text.ToString();
    }
}
