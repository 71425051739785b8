using EventDaemon.Cli.CommandLine;
using EventDaemon.Daemon.Control;

namespace EventDaemon.Cli.Commands;

/// <summary><c>eventd ctl COMMAND [--socket PATH]</c>: one control command, its reply printed.</summary>
internal static class CtlCommand
{
    public static int Run(Invocation invocation)
    {
        string line = string.Join(' ', invocation.Words("COMMAND"));

        // The list is the server's own (ControlCommands.All), so help needs no daemon, and a
        // command the server would not know is refused here, with a suggestion, before any round trip.
        if (line == ControlCommands.Help)
        {
            Console.Out.Write(ControlCommands.HelpText);
            return 0;
        }

        // Only the first word is checked: the daemon answers for the words after it (stats json),
        // and says so itself when they are wrong.
        string first = invocation.Words("COMMAND")[0];
        IEnumerable<string> known = ControlCommands.All.Select(c => c.Line.Split(' ')[0]).Distinct();
        if (!known.Contains(first))
        {
            throw new UsageException($"unknown control command '{first}'{Suggestions.DidYouMean(first, known)}", "ctl", see: "eventd ctl help");
        }

        return ControlClient.Run(line, ControlSocket.Resolve(invocation.Value("--socket")), Console.Out, Console.Error);
    }
}
