using EventDaemon.Cli.CommandLine;

namespace EventDaemon.Cli.Commands;

/// <summary><c>eventd completion bash</c>: the completion script, made from the command table.</summary>
internal static class CompletionCommand
{
    public static int Run(Invocation invocation)
    {
        // The parser has checked SHELL against the table's choices, which today are bash alone.
        Console.Out.Write(BashCompletion.Script(CommandTable.All));
        return 0;
    }
}
