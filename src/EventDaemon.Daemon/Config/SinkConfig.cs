namespace EventDaemon.Daemon.Config;

/// <summary>A <c>[sinks.NAME]</c> table: where events leave the daemon.</summary>
public abstract record SinkConfig : StageConfig
{
    protected SinkConfig(string name, ConfigPosition position, EquatableArray<string> inputs)
        : base(name, position, inputs)
    {
    }

    public sealed override ComponentKind Kind => ComponentKind.Sink;
}

/// <summary><c>type = "stdout"</c>: JSON lines on standard output (the journal, under systemd).</summary>
public sealed record StdoutSinkConfig(string Name, ConfigPosition Position, EquatableArray<string> Inputs)
    : SinkConfig(Name, Position, Inputs)
{
    public override string TypeName => "stdout";
}

/// <summary><c>type = "file"</c>: JSON lines appended to <see cref="Path"/>.</summary>
/// <param name="Path">Absolute (a relative path in the config is relative to the config file).</param>
/// <param name="RotateBytes">Rotate once the file reaches this size; <c>null</c> = never.</param>
/// <param name="FsyncInterval">Only used with <see cref="FsyncPolicy.Interval"/>.</param>
public sealed record FileSinkConfig(
    string Name, ConfigPosition Position, EquatableArray<string> Inputs, string Path, ByteSize? RotateBytes, FsyncPolicy Fsync, Duration FsyncInterval)
    : SinkConfig(Name, Position, Inputs)
{
    /// <summary>Never by default: the kernel writes back within seconds, and durability is the journal's job (SPEC §7).</summary>
    public const FsyncPolicy DefaultFsync = FsyncPolicy.Never;

    /// <summary>One second bounds what a power cut loses to a second of output at one fsync per second.</summary>
    public static Duration DefaultFsyncInterval => Duration.FromSeconds(1);

    public override string TypeName => "file";
}

/// <summary><c>type = "tcp"</c>: JSON lines to <see cref="Address"/>, reconnecting with backoff.</summary>
/// <param name="BufferBytes">Output held while the peer is slow or away; past it, the sink applies backpressure.</param>
/// <param name="MaxBackoff">Reconnect attempts back off exponentially up to this.</param>
public sealed record TcpSinkConfig(
    string Name, ConfigPosition Position, EquatableArray<string> Inputs, HostPort Address, ByteSize BufferBytes, Duration MaxBackoff)
    : SinkConfig(Name, Position, Inputs)
{
    /// <summary>1 MiB: many batches of typical lines, small next to the arena.</summary>
    public static ByteSize DefaultBufferBytes => ByteSize.FromMiB(1);

    /// <summary>5 s: a restarted peer is found again within seconds without a reconnect storm.</summary>
    public static Duration DefaultMaxBackoff => Duration.FromSeconds(5);

    public override string TypeName => "tcp";
}

/// <summary><c>type = "blackhole"</c>: counts and discards; for benchmarks.</summary>
public sealed record BlackholeSinkConfig(string Name, ConfigPosition Position, EquatableArray<string> Inputs)
    : SinkConfig(Name, Position, Inputs)
{
    public override string TypeName => "blackhole";
}

/// <summary><c>type = "nats"</c>: publishes each event to <see cref="Subject"/> (SPEC §8).</summary>
/// <param name="PartitionBy">The field whose hash picks the partition when <see cref="Subject"/> holds <c>{partition}</c>.</param>
/// <param name="Partitions">How many partitions; 0 when not partitioned.</param>
public sealed record NatsSinkConfig(string Name, ConfigPosition Position, EquatableArray<string> Inputs, string Url, string Subject,
    string? PartitionBy = null, int Partitions = 0)
    : SinkConfig(Name, Position, Inputs)
{
    public override string TypeName => "nats";
}
