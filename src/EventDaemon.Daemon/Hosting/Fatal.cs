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
            WriteLine("<2>" + Describe(e, where));
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

    /// <summary>
    /// One line on stderr, even when <see cref="Console"/> cannot start: its first write sets up
    /// terminal and signal handling on a thread of its own, which cannot be created once the
    /// address space is spent (the very failure being reported). Then the line goes straight to fd 2.
    /// </summary>
    public static unsafe void WriteLine(string line)
    {
        try
        {
            Console.Error.WriteLine(line);
            return;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or OutOfMemoryException or IOException)
        {
        }

        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(line + "\n");
        fixed (byte* p = bytes)
        {
            _ = Interop.Libc.write(2, p, (nuint)bytes.Length);
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");
}
