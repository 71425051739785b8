namespace EventDaemon.Daemon.Hosting;

/// <summary>
/// The daemon's log: one line per event on stderr (the journal under systemd), prefixed with its
/// syslog priority so journald files it at the right level. Cold paths only: nothing on a
/// consumer loop ever logs.
/// </summary>
public static class Log
{
    private static readonly Lock Gate = new();

    /// <summary>Debug lines are formatted only when <c>EVENTD_DEBUG</c> is set (checked once).</summary>
    public static readonly bool DebugEnabled = Environment.GetEnvironmentVariable("EVENTD_DEBUG") is { Length: > 0 };

    public static void Info(string message) => Write("<6>", message);

    public static void Warning(string message) => Write("<4>", "warning: " + message);

    public static void Error(string message) => Write("<3>", "error: " + message);

    public static void Debug(Func<string> message)
    {
        if (DebugEnabled)
        {
            Write("<7>", message());
        }
    }

    private static void Write(string priority, string message)
    {
        // The <N> prefix is what journald parses (SyslogLevelPrefix); on a terminal it reads as a level tag.
        lock (Gate)
        {
            Fatal.WriteLine($"{priority}eventd: {message}");
        }
    }
}
