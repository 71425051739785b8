namespace EventDaemon.Daemon.Config;

/// <summary>How a source decodes its bytes (<c>format</c>).</summary>
public enum SourceFormat
{
    /// <summary><c>json</c>: one JSON object per line.</summary>
    Json,

    /// <summary><c>binary</c>: the length-prefixed frames of the eventd binary protocol.</summary>
    Binary,
}
