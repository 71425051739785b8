using System.Globalization;
using System.Net;

namespace EventDaemon.Daemon.Config;

/// <summary>A <c>[sources.NAME]</c> table: where events come from and how they are decoded.</summary>
/// <param name="MaxEventBytes">The source's own limit, or <c>[daemon] max_event_bytes</c> when it sets none.</param>
public abstract record SourceConfig(string Name, ConfigPosition Position, SourceFormat Format, int MaxEventBytes)
    : ComponentConfig(Name, Position)
{
    /// <summary>
    /// Far more connections than a pipeline's producers open; the bound exists because each
    /// connection holds a receive buffer, and memory must stay bounded whoever connects.
    /// </summary>
    public const int DefaultMaxConnections = 1024;

    /// <summary>5 min: far longer than any pause of a live sender, short enough that silent clients
    /// cannot hold every <c>max_connections</c> slot for long.</summary>
    public static Duration DefaultIdleTimeout => Duration.FromSeconds(300);

    /// <summary>How <c>idle_timeout</c> reads back: <c>"0"</c> when disabled.</summary>
    public static string RenderIdleTimeout(Duration? timeout) =>
        timeout is { Nanoseconds: 0 } ? "0" : (timeout ?? DefaultIdleTimeout).ToString();

    public sealed override ComponentKind Kind => ComponentKind.Source;
}

/// <summary><c>type = "tcp"</c>: a listening TCP socket, one stream of events per connection.</summary>
/// <param name="Address">As written (what <c>info</c> and messages show).</param>
/// <param name="EndPoint">What the source binds: <see cref="Address"/> resolved when the config was checked.</param>
public sealed record TcpSourceConfig(
    string Name, ConfigPosition Position, SourceFormat Format, int MaxEventBytes, HostPort Address, IPEndPoint EndPoint, int MaxConnections,
    Duration? IdleTimeout = null)
    : SourceConfig(Name, Position, Format, MaxEventBytes)
{
    public override string TypeName => "tcp";
}

/// <summary><c>type = "udp"</c>: one event (or one line of events) per datagram; drops and counts when the ring is full.</summary>
/// <param name="EndPoint">What the source binds: <c>Address</c> resolved when the config was checked.</param>
public sealed record UdpSourceConfig(string Name, ConfigPosition Position, SourceFormat Format, int MaxEventBytes, HostPort Address, IPEndPoint EndPoint)
    : SourceConfig(Name, Position, Format, MaxEventBytes)
{
    public override string TypeName => "udp";
}

/// <summary><c>type = "unix"</c>: a listening Unix stream socket at <see cref="Path"/>.</summary>
public sealed record UnixSourceConfig(
    string Name, ConfigPosition Position, SourceFormat Format, int MaxEventBytes, string Path, int MaxConnections,
    Duration? IdleTimeout = null)
    : SourceConfig(Name, Position, Format, MaxEventBytes)
{
    public override string TypeName => "unix";
}

/// <summary><c>type = "nats"</c>: a durable pull consumer on a JetStream stream (SPEC §8).</summary>
/// <param name="Subject">A filter subject within the stream, or <c>null</c> for all of it.</param>
/// <param name="Consumer">The durable consumer's name; instances that share it share the work.</param>
/// <param name="Batch">Messages asked for per pull request.</param>
/// <param name="AckWait">How long the server waits for an acknowledgement before it delivers a message again; 30 s when <c>null</c>.</param>
/// <param name="MaxAckPending">Messages delivered and not yet acknowledged, at most, over every instance of the consumer.</param>
/// <param name="MaxDeliver">Deliveries of one message, at most: a message still not acknowledged after that many is given up.</param>
/// <param name="Partitions">
/// The partitions this source owns (<c>partitions = [0, 3]</c>), each consumed through its own
/// durable consumer filtered on <see cref="Subject"/> with the number in place of <c>{partition}</c>;
/// empty when the source is not partitioned or claims its partitions through leases.
/// </param>
/// <param name="PartitionCount">How many partitions the producers' <c>{partition}</c> subjects spread over (<c>partition_count</c>); 0 when not partitioned.</param>
/// <param name="LeasePartitions"><c>partitions = "auto"</c>: the partitions are claimed through leases in the JetStream key-value bucket <see cref="LeaseBucket"/>.</param>
/// <param name="LeaseBucket">The key-value bucket of the leases; <c>&lt;consumer&gt;_leases</c> when <c>null</c>.</param>
/// <param name="LeaseTtl">How long a lease outlives its holder's last renewal (renewed every third of it); 10 s when <c>null</c>.</param>
public sealed record NatsSourceConfig(
    string Name, ConfigPosition Position, SourceFormat Format, int MaxEventBytes, string Url, string Stream, string? Subject, string Consumer,
    int Batch = NatsSourceConfig.DefaultBatch, Duration? AckWait = null, int MaxAckPending = NatsSourceConfig.DefaultMaxAckPending,
    int MaxDeliver = NatsSourceConfig.DefaultMaxDeliver, EquatableArray<int> Partitions = default, int PartitionCount = 0,
    bool LeasePartitions = false, string? LeaseBucket = null, Duration? LeaseTtl = null)
    : SourceConfig(Name, Position, Format, MaxEventBytes)
{
    /// <summary>What a partitioned subject holds in place of the partition's number, as in the nats sink's.</summary>
    public const string PartitionToken = "{partition}";

    /// <summary>
    /// 10 s: a dead instance's partitions move after at most a lease plus one renewal round, and a
    /// renewal every 3.3 s is a few small requests, nothing a cluster notices.
    /// </summary>
    public static Duration DefaultLeaseTtl => Duration.FromSeconds(10);

    public Duration LeaseTtlOrDefault => LeaseTtl ?? DefaultLeaseTtl;

    public string LeaseBucketOrDefault => LeaseBucket ?? $"{Consumer}_leases";

    /// <summary>Whether the source consumes partitions (a list or leases) rather than one consumer over the whole subject.</summary>
    public bool IsPartitioned => PartitionCount > 0;

    /// <summary>The durable consumer of one partition: the configured name with the partition's number, <c>eventd-p3</c>.</summary>
    public string PartitionConsumer(int partition) => $"{Consumer}-p{partition.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The filter subject of one partition: <see cref="Subject"/> with its number in place of <c>{partition}</c>.</summary>
    public string PartitionSubject(int partition) => Subject!.Replace(PartitionToken, partition.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);

    public const string DefaultUrl = "nats://127.0.0.1:4222";

    /// <summary>256: one ring turn's worth of events for a loopback server; the SPEC's example.</summary>
    public const int DefaultBatch = 256;

    /// <summary>The server's own default (1,000), which covers every instance of the consumer together.</summary>
    public const int DefaultMaxAckPending = 1000;

    /// <summary>
    /// 10: a message is delivered again after an instance died or after <c>ack_wait</c>; ten such
    /// failures in a row mean the message itself is the problem (a poison message), not the fleet.
    /// </summary>
    public const int DefaultMaxDeliver = 10;

    /// <summary>The server's own default, long enough for a sink's retries to ride out a short outage.</summary>
    public static Duration DefaultAckWait => Duration.FromSeconds(30);

    public Duration AckWaitOrDefault => AckWait ?? DefaultAckWait;

    public override string TypeName => "nats";
}
