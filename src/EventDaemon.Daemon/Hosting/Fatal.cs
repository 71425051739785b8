namespace EventDaemon.Daemon.Hosting;

/// <summary>
/// The one way eventd ends on something it did not expect: a single line naming the exception,
/// never a stack trace, and exit code 1. The daemon's own threads catch at their top and come
/// here; <c>Program.Main</c> does the same for the main thread and for any thread that does not.
/// </summary>
public static class Fatal
{
    /// <summary>Exit code of a run that ended on an unexpected error.</summary>
    public const int ExitCode = 1;

    private static int _exiting;

    /// <summary><c>error: internal error[ on thread T]: Type: message</c> (the inner cause too, when there is one).</summary>
    public static string Describe(Exception? e, string? where)
    {
        string place = where is { Length: > 0 } ? $" on thread {where}" : "";
        if (e is null)
        {
            return $"eventd: error: internal error{place}: unknown";
        }

        string cause = e.InnerException is { } inner ? $" ({inner.GetType().Name}: {OneLine(inner.Message)})" : "";
        return $"eventd: error: internal error{place}: {e.GetType().Name}: {OneLine(e.Message)}{cause}";
    }

    /// <summary>Writes the line and ends the process with <see cref="ExitCode"/>; the first caller wins.</summary>
    public static void Exit(Exception? e, string? where)
    {
        if (Interlocked.Exchange(ref _exiting, 1) == 0)
        {
            Console.Error.WriteLine("<2>" + Describe(e, where));
            Console.Error.Flush();
            Environment.Exit(ExitCode);
        }

        // Another thread is already ending the process: wait for it rather than returning into a crash.
        Thread.Sleep(Timeout.Infinite);
    }

    /// <summary>Runs a daemon thread's body; anything it throws stops the daemon with one line.</summary>
    public static ThreadStart Guard(ThreadStart body) => () =>
    {
        try
        {
            body();
        }
        catch (Exception e)
        {
            Exit(e, Thread.CurrentThread.Name);
        }
    };

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");
}
