namespace EventDaemon.Daemon.Hosting;

/// <summary>A log line's level; the value is its syslog priority, what journald files it under.</summary>
public enum LogLevel
{
    Error = 3,
    Warning = 4,
    Info = 6,
    Debug = 7,
}
