using EventDaemon.Daemon.Metrics;

namespace EventDaemon.Daemon.Sources;

/// <summary>A running input: binds at <see cref="Start"/>, stops reading at <see cref="Stop"/>.</summary>
public abstract class Source : IDisposable
{
    protected Source(string name, SourceMetrics metrics)
    {
        Name = name;
        Metrics = metrics;
    }

    public string Name { get; }

    public SourceMetrics Metrics { get; }

    /// <summary>"tcp 127.0.0.1:7400", for info and logs.</summary>
    public abstract string Describe();

    /// <summary>Binds and starts accepting/reading. Throws <see cref="SourceBindException"/> with an
    /// operator-readable message when the address is unusable.</summary>
    public abstract void Start();

    /// <summary>Stops accepting, reads what senders already sent (until each connection has been
    /// quiet for a moment or <paramref name="timeout"/> passes), appends it, and closes.</summary>
    public abstract void Stop(TimeSpan timeout);

    public void Dispose()
    {
        Stop(TimeSpan.Zero);
        GC.SuppressFinalize(this);
    }
}

/// <summary>A source could not bind: the message names the problem and the fix.</summary>
public sealed class SourceBindException(string message, Exception? inner = null) : Exception(message, inner);
