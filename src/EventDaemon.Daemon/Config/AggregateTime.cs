namespace EventDaemon.Daemon.Config;

/// <summary>Which clock closes an aggregate's windows (<c>time</c>).</summary>
public enum AggregateTime
{
    /// <summary><c>processing</c>: the daemon's clock, so windows close even without traffic.</summary>
    Processing,

    /// <summary><c>event</c>: the events' <c>ts</c>; a window closes when the watermark passes its end.</summary>
    Event,
}
