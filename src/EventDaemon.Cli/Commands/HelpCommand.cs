using EventDaemon.Cli.CommandLine;

namespace EventDaemon.Cli.Commands;

/// <summary><c>eventd help [COMMAND] [--man]</c>, and <c>eventd COMMAND --help</c>.</summary>
internal static class HelpCommand
{
    public static int Run(Invocation invocation)
    {
        if (invocation.Has("--man"))
        {
            Console.Out.Write(HelpWriter.Man(CommandTable.All));
            return 0;
        }

        Console.Out.Write(invocation.Word("COMMAND") is { } name
            ? HelpWriter.Command(CommandTable.Find(name)!)
            : HelpWriter.Overview(CommandTable.All));
        return 0;
    }
}
