using EventDaemon.Cli.Commands;
using EventDaemon.Daemon.Control;

namespace EventDaemon.Cli.CommandLine;

/// <summary>
/// Every <c>eventd</c> command, its flags and its words: the one place they are written down.
/// <c>eventd help</c>, <c>--help</c>, the man page (<c>docs/eventd.1</c>), bash completion and
/// the parser all read this table.
/// </summary>
internal static class CommandTable
{
    private static readonly FlagSpec Socket = new("--socket", "PATH",
        "the daemon's control socket (default: the one a daemon run by this user makes, else the systemd unit's /run/eventd/eventd.sock)");

    /// <summary>In the order <c>eventd help</c> lists them.</summary>
    public static IReadOnlyList<CommandSpec> All { get; } = WithHelpChoices(
    [
        new("run", "run the daemon in the foreground (embedded default without --config)",
            """
            Runs the daemon in the foreground until SIGTERM or SIGINT drains it; systemd runs it this way. SIGHUP, or 'eventd ctl reload', re-reads the config.

            Without --config it runs the embedded default: JSON lines over TCP on 127.0.0.1:7400 and UDP on 127.0.0.1:7401, counted per event type in one-second windows printed to stdout, so a new user sees it work at once.
            """,
            [new("--config", "PATH", "the config file (TOML); without it, the embedded default")],
            [],
            RunCommand.Run),

        new("validate", "check a config; prints file:line:col: message per error",
            """
            Parses and checks a config as 'run' and 'reload' would, without starting anything. Prints 'PATH: ok' and exits 0, or one 'file:line:col: message' line per error and exits 1. Warnings are printed either way.
            """,
            [new("--config", "PATH", "the config file to check", Required: true)],
            [],
            ValidateCommand.Run),

        new("stats", "print the running daemon's counters",
            """
            Asks the running daemon for its counters over the control socket and prints them, one 'name value' line per series, or as one JSON object with --json. Exits non-zero when the daemon cannot be reached.
            """,
            [new("--json", null, "one JSON object instead of 'name value' lines"), Socket],
            [],
            StatsCommand.Run),

        new("ctl", "send a control command to the running daemon (eventd ctl help lists them)",
            """
            Sends one control command to the running daemon and prints its reply. Exits non-zero when the daemon reports an error or cannot be reached. 'eventd ctl help' lists the commands without asking the daemon.
            """,
            [Socket],
            [new("COMMAND", "the control command and its words (stats json)", Required: true, Many: true,
                Choices: [.. ControlCommands.All.Select(c => c.Line.Split(' ')[0]).Distinct()])],
            CtlCommand.Run),

        new("graph", "draw the topology: sources, stages, sinks, rings and threads",
            """
            Prints the pipeline a config describes as Graphviz DOT (the default; 'eventd graph | dot -Tsvg > graph.svg') or as text: its sources, transforms and sinks, the rings they read, which stages run fused on one thread and which on threads of their own (with how a stage split over several threads shares its events). The placement is the one 'run' would make on this machine; nothing is started.

            Without --config it draws the embedded default.
            """,
            [new("--config", "PATH", "the config file; without it, the embedded default"),
             new("--format", "FORMAT", "dot (the default) or text", Choices: ["dot", "text"])],
            [],
            GraphCommand.Run),

        new("top", "live view: rate, lag, drops, errors, p50/p99 per source, stage and sink",
            """
            A live view of the running daemon, refreshed once a second from 'stats json' and 'health': the problems health reports at the top, ring and arena fill, then per source, transform and sink the rate, total, lag, drops, errors and p50/p99 latency. It redraws in place on the alternate screen, fits an 80x24 terminal, and quits on q or Ctrl-C with the terminal restored.

            --once (or stdout that is not a terminal) prints one plain snapshot, from two readings a second apart, for scripts. Exits 1 when the daemon cannot be reached.
            """,
            [new("--once", null, "one plain snapshot (no escape sequences), then exit"), Socket],
            [],
            i => TopCommand.Run(ControlSocket.Resolve(i.Value("--socket")), i.Has("--once"))),

        new("tap", "stream the events leaving a source, stage or sink as JSON lines",
            """
            Prints events as JSON lines, as the sinks write them, until interrupted or --limit is reached. NAME is a source (the events it publishes), a filter, sample, throttle, dedupe or enrich stage (the events it lets through), a route (every event reaching it) or one of its outputs as inputs name it, ROUTE.OUTPUT (what that output lets through), an aggregate (its window results) or a sink (the lines it takes, enrich columns included, before its transport). A split stage's threads each keep their own order; the order across threads is not kept. The stage copies sampled events into a small buffer of its own and never waits: what a slow reader cannot take is dropped and counted in tap_dropped_total{stage}, so a tap never slows the pipeline. An unknown name gets the list of those that can be tapped, and exit 2. Needs root or the daemon's user.
            """,
            [new("--limit", "N", "exit after N events"), new("--sample", "N", "keep one event in N (N or 1/N)"), Socket],
            [new("NAME", "the source, stage, route output or sink whose events to stream", Required: true)],
            i => TapCommand.Run(i.Word("NAME")!, i.Value("--limit"), i.Value("--sample"), ControlSocket.Resolve(i.Value("--socket")))),

        new("test", "run the config's [[tests]]: inputs through the real stages, outputs checked",
            """
            Runs every [[tests]] table of a config in-process: its input events go through the real stages up to the one observed, with time driven by the events' ts (windows flushed at the end), and the outputs are compared with the expected events, conditions or count. Nothing is bound or written. Prints a diff for each failing test and exits 1; exits 0 when all pass.
            """,
            [new("--config", "PATH", "the config whose tests to run", Required: true)],
            [],
            i => TestCommand.Run(i.Value("--config")!, Console.Out, Console.Error)),

        new("journal", "verify the journal (read-only), or repair its damaged segments",
            """
            'journal verify' reads every segment of the journal a config names, the way 'run' would find it, and exits 1 naming the segment and offset of any problem. 'journal repair' rewrites damaged segments keeping every good record (through a temporary file, rename and directory fsync); it refuses while a daemon holds the journal.
            """,
            [new("--config", "PATH", "the config whose [journal] to check", Required: true)],
            [new("ACTION", "verify or repair", Required: true, Choices: ["verify", "repair"])],
            i => i.Word("ACTION") == "repair"
                ? JournalCommand.Repair(i.Value("--config")!, Console.Out, Console.Error)
                : JournalCommand.Verify(i.Value("--config")!, Console.Out, Console.Error)),

        new("version", "version, commit and build flags",
            "Prints the version, the commit it was built from and the build flags.",
            [],
            [],
            VersionCommand.Run),

        new("help", "this list, or one command's usage and details",
            """
            Without a command, lists the commands; with one, prints its usage, flags and details (the same as 'eventd COMMAND --help'). --man prints the manual page, eventd(1), as roff.
            """,
            [new("--man", null, "print the manual page (roff) made from this help")],
            [new("COMMAND", "the command to describe", Required: false)],
            HelpCommand.Run),

        new("completion", "print a shell completion script",
            """
            Prints a completion script for the shell, made from the same table as this help: 'source <(eventd completion bash)', or install it as /usr/share/bash-completion/completions/eventd (scripts/install.sh does).
            """,
            [],
            [new("SHELL", "the shell", Required: true, Choices: ["bash"])],
            CompletionCommand.Run),
    ]);

    public static CommandSpec? Find(string name) => All.FirstOrDefault(c => c.Name == name);

    /// <summary>
    /// <c>help COMMAND</c> accepts (and completes, and suggests from) the table's own names: set
    /// once the table exists, so a new command needs no second list.
    /// </summary>
    private static CommandSpec[] WithHelpChoices(CommandSpec[] commands)
    {
        string[] names = [.. commands.Select(c => c.Name)];
        int help = Array.FindIndex(commands, c => c.Name == "help");
        commands[help] = commands[help] with { Args = [commands[help].Args[0] with { Choices = names }] };
        return commands;
    }
}
