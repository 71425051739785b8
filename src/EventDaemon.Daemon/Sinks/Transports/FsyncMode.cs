namespace EventDaemon.Daemon.Sinks.Transports;

/// <summary>When <see cref="FileTransport"/> asks the kernel to put written bytes on disk.</summary>
/// <remarks>The transport's own copy of the config's <c>fsync</c> setting, so this layer depends on no config type.</remarks>
public enum FsyncMode
{
    /// <summary>Leave write-back to the kernel.</summary>
    Never,

    /// <summary>From <see cref="ISinkTransport.Tick"/>, once the interval has passed and something was written.</summary>
    Interval,

    /// <summary>After every batch, before <see cref="ISinkTransport.TryWrite"/> returns.</summary>
    Always,
}
