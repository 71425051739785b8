using EventDaemon.Cli.CommandLine;
using EventDaemon.Daemon.Hosting;

namespace EventDaemon.Cli;

/// <summary>The <c>eventd</c> command line: one binary for the daemon and its clients.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        // A thread the daemon does not guard itself (a library's, a timer's) that throws would
        // otherwise end the process with the runtime's stack trace; one line and exit 1 instead.
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
            Fatal.Exit(e.ExceptionObject as Exception, Thread.CurrentThread.Name);
        try
        {
            if (args.Length == 0)
            {
                // Nothing asked for is a usage error (exit 2), told with the list of commands.
                Console.Error.Write(HelpWriter.Overview(CommandTable.All));
                return UsageException.ExitCode;
            }

            Invocation invocation = new Parser(CommandTable.All).Parse(args);
            return invocation.Command.Run(invocation);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine(e.Line);
            return UsageException.ExitCode;
        }
        catch (Exception e)
        {
            // Every error a person can make has its own message before this; what reaches here is
            // a bug in eventd, told in one line, never as a stack trace (SPEC §1).
            Fatal.WriteLine(Fatal.Describe(e, where: null));
            return 1;
        }
    }
}
