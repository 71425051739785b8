namespace EventDaemon.Daemon.Config;

/// <summary><c>[daemon] log_format</c>: how the daemon writes its log lines on stderr.</summary>
public enum LogFormat
{
    /// <summary>One readable line per event (the default).</summary>
    Text,

    /// <summary>One JSON object per line: <c>ts</c>, <c>level</c>, <c>msg</c> and <c>fields</c>.</summary>
    Json,
}
