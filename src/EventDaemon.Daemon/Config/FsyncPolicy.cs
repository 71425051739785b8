namespace EventDaemon.Daemon.Config;

/// <summary>When a file sink calls <c>fsync</c> (<c>fsync</c>).</summary>
public enum FsyncPolicy
{
    /// <summary><c>never</c>: leave write-back to the kernel.</summary>
    Never,

    /// <summary><c>interval</c>: at most every <c>fsync_interval</c>.</summary>
    Interval,

    /// <summary><c>always</c>: after every batch written.</summary>
    Always,
}
