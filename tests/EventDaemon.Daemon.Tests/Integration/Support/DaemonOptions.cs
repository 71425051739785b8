namespace EventDaemon.Daemon.Tests.Integration.Support;

/// <summary>How a <see cref="DaemonProcess"/> is configured beyond its sources, transforms and sinks.</summary>
internal sealed class DaemonOptions
{
    /// <summary>Small by default: tests exercise full rings, and 2 cores do not need more.</summary>
    public int RingSize { get; init; } = 1024;

    public string ArenaSize { get; init; } = "1MiB";

    /// <summary>More <c>[daemon]</c> lines, e.g. <c>max_event_bytes = 1024</c>.</summary>
    public string DaemonSettings { get; init; } = "";

    /// <summary>Variables for the daemon's environment (NOTIFY_SOCKET is set by the fixture).</summary>
    public Dictionary<string, string> Environment { get; init; } = [];

    /// <summary>Listen for sd_notify at this abstract name (<c>@name</c>) instead of a path in the daemon's directory.</summary>
    public string? AbstractNotifyName { get; init; }
}
