using EventDaemon.Cli.CommandLine;
using EventDaemon.Daemon.Control;

namespace EventDaemon.Cli.Commands;

/// <summary><c>eventd stats [--json] [--socket PATH]</c>: the running daemon's counters.</summary>
internal static class StatsCommand
{
    public static int Run(Invocation invocation) =>
        ControlClient.Run(invocation.Has("--json") ? ControlCommands.StatsJson : ControlCommands.Stats,
            ControlSocket.Resolve(invocation.Value("--socket")), Console.Out, Console.Error);
}
