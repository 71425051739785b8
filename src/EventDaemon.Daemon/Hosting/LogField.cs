namespace EventDaemon.Daemon.Hosting;

/// <summary>A named value a log line carries besides its message: the <c>fields</c> of a JSON line.</summary>
public readonly record struct LogField(string Key, string Value);
