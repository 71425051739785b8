using System.Net;
using System.Net.Sockets;
using Tomlyn.Syntax;

namespace EventDaemon.Daemon.Config.Internal;

/// <summary>Binds one <c>[sources.NAME]</c> table.</summary>
internal static class SourceBinder
{
    private const int MaxConnectionsLimit = 1_000_000;

    /// <summary>A pull's messages are decoded into one read buffer; past a few thousand a pull only adds latency.</summary>
    private const int MaxNatsBatch = 4096;

    /// <summary>The source keeps a slot (with the message's 256-byte ack subject) per unacknowledged message: bounded memory.</summary>
    private const int MaxAckPendingLimit = 65_536;

    /// <summary>Below 1 s a sink's ordinary batch latency would trigger redeliveries.</summary>
    private static readonly Duration MinAckWait = Duration.FromSeconds(1);

    private static readonly Duration MaxAckWait = Duration.FromSeconds(3600);

    /// <summary>As many as the nats sink can publish to: one durable consumer each.</summary>
    private const int MaxNatsPartitions = 4096;

    /// <summary>Below 1 s a renewal every third of it would race the requests' own round trips.</summary>
    private static readonly Duration MinLeaseTtl = Duration.FromSeconds(1);

    /// <summary>An hour without moving a dead instance's partitions is an outage, not a lease.</summary>
    private static readonly Duration MaxLeaseTtl = Duration.FromSeconds(3600);

    /// <summary>What a JetStream key-value bucket's name may hold.</summary>
    private static readonly System.Buffers.SearchValues<char> BucketCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");

    /// <summary>Below 100 ms a sender's ordinary pause between writes would close it.</summary>
    private static readonly Duration MinIdleTimeout = Duration.FromMilliseconds(100);

    /// <summary>24 h: past that, "never" (<c>"0"</c>) says what is meant.</summary>
    private static readonly Duration MaxIdleTimeout = Duration.FromSeconds(24 * 3600);

    public static ComponentDraft Bind(string name, TomlTable table, ConfigPosition keyPosition, BindContext context, int defaultMaxEventBytes, long arenaBytes)
    {
        ConfigPosition declared = ComponentBinding.Declared(table, keyPosition);
        var draft = new ComponentDraft(name, ComponentKind.Source, declared);
        int errorsBefore = context.Diagnostics.ErrorCount;
        var reader = new TableReader(context, table, $"source '{name}'", declared);

        string? type = ComponentBinding.ReadType(reader, ConfigNames.SourceTypes, "source");
        if (reader.Entry("inputs") is { } inputs)
        {
            context.Error(inputs.KeyPosition, $"sources take no inputs; remove 'inputs' from source '{name}'");
        }

        SourceFormat format = reader.Choice("format", ConfigNames.Formats) ?? SourceFormat.Json;
        int maxEventBytes = defaultMaxEventBytes;
        if (reader.Size("max_event_bytes", new ByteSize(1), new ByteSize(DaemonSettings.MaxMaxEventBytes)) is { } own)
        {
            if (own.Bytes > arenaBytes)
            {
                context.Error(reader.Entry("max_event_bytes")!.Value.Position, $"max_event_bytes: {own} does not fit in [daemon] arena_size ({new ByteSize(arenaBytes)})");
            }

            maxEventBytes = (int)own.Bytes;
        }

        SourceConfig? config = type switch
        {
            "tcp" => Tcp(reader, name, declared, format, maxEventBytes),
            "udp" => Udp(reader, name, declared, format, maxEventBytes),
            "unix" => Unix(reader, name, declared, format, maxEventBytes),
            "nats" => Nats(reader, name, declared, format, maxEventBytes),
            _ => null,
        };
        ComponentBinding.ReportUnknownKeys(reader, type, ConfigNames.SourceKeys, "source");
        draft.Config = context.Diagnostics.ErrorCount == errorsBefore ? config : null;
        return draft;
    }

    private static TcpSourceConfig? Tcp(TableReader reader, string name, ConfigPosition declared, SourceFormat format, int maxEventBytes)
    {
        HostPort? address = RequiredAddress(reader);
        IPEndPoint? endPoint = address is { } listen ? ListenAddress.Resolve(reader.Context, "address", listen, reader.Entry("address")!.Value.Position, SocketType.Stream) : null;
        int maxConnections = reader.Int32("max_connections", 1, MaxConnectionsLimit) ?? SourceConfig.DefaultMaxConnections;
        Duration idleTimeout = IdleTimeout(reader);
        return address is { } a && endPoint is not null ? new TcpSourceConfig(name, declared, format, maxEventBytes, a, endPoint, maxConnections, idleTimeout) : null;
    }

    /// <summary><c>idle_timeout</c>: a duration from 100ms to 24h, or <c>"0"</c> (never).</summary>
    private static Duration IdleTimeout(TableReader reader)
    {
        if (reader.Entry("idle_timeout") is { Value: TomlValue { Syntax: StringValueSyntax { Value: "0" } } })
        {
            return Duration.Zero;
        }

        Duration? timeout = reader.Duration("idle_timeout", MinIdleTimeout);
        if (timeout > MaxIdleTimeout)
        {
            reader.Context.Error(reader.Entry("idle_timeout")!.Value.Position, $"idle_timeout: at most {MaxIdleTimeout} (or \"0\" to never close idle connections)");
        }

        return timeout ?? SourceConfig.DefaultIdleTimeout;
    }

    private static UdpSourceConfig? Udp(TableReader reader, string name, ConfigPosition declared, SourceFormat format, int maxEventBytes)
    {
        HostPort? address = RequiredAddress(reader);
        IPEndPoint? endPoint = address is { } listen ? ListenAddress.Resolve(reader.Context, "address", listen, reader.Entry("address")!.Value.Position, SocketType.Dgram) : null;
        return address is { } a && endPoint is not null ? new UdpSourceConfig(name, declared, format, maxEventBytes, a, endPoint) : null;
    }

    private static UnixSourceConfig? Unix(TableReader reader, string name, ConfigPosition declared, SourceFormat format, int maxEventBytes)
    {
        string? path = reader.Path("path");
        if (reader.Table.Find("path") is null)
        {
            reader.Missing("path", " (the socket to listen on, e.g. path = \"/run/eventd/in.sock\")");
        }
        else if (path is not null)
        {
            if (reader.Context.CheckSocketPath("path", path, reader.Table.Find("path")!.Value.Position) && reader.Context.CheckMachine)
            {
                MachineChecks.UnixSocketPath(reader.Context, path, reader.Table.Find("path")!.Value.Position);
            }
        }

        int maxConnections = reader.Int32("max_connections", 1, MaxConnectionsLimit) ?? SourceConfig.DefaultMaxConnections;
        Duration idleTimeout = IdleTimeout(reader);
        return path is null ? null : new UnixSourceConfig(name, declared, format, maxEventBytes, path, maxConnections, idleTimeout);
    }

    private static NatsSourceConfig? Nats(TableReader reader, string name, ConfigPosition declared, SourceFormat format, int maxEventBytes)
    {
        string? url = NatsNames.Url(reader, "url", NatsSourceConfig.DefaultUrl);
        string? stream = NatsNames.Name(reader, "stream");
        string? subject = NatsNames.Subject(reader, "subject", allowWildcards: true);
        string? consumer = NatsNames.Name(reader, "consumer");
        if (reader.Table.Find("stream") is null)
        {
            reader.Missing("stream", " (the JetStream stream to consume)");
        }

        if (reader.Table.Find("consumer") is null)
        {
            reader.Missing("consumer", " (the durable consumer's name, shared by every instance)");
        }

        // What the source's own connection cannot do, refused here so that validate and run agree.
        if (url is not null && reader.Table.Find("url") is { } urlKey
            && url.Split(',', StringSplitOptions.TrimEntries).Any(u => !u.StartsWith("nats://", StringComparison.OrdinalIgnoreCase) || u.Contains('@', StringComparison.Ordinal)))
        {
            reader.Context.Error(urlKey.Value.Position, $"url: \"{url}\": the nats source supports plain nats:// URLs without credentials in this build");
            url = null;
        }

        int batch = reader.Int32("batch", 1, MaxNatsBatch) ?? NatsSourceConfig.DefaultBatch;
        Duration? ackWait = reader.Duration("ack_wait", MinAckWait);
        if (ackWait > MaxAckWait)
        {
            reader.Context.Error(reader.Entry("ack_wait")!.Value.Position, $"ack_wait: at most {MaxAckWait}");
        }

        int maxAckPending = reader.Int32("max_ack_pending", 1, MaxAckPendingLimit) ?? NatsSourceConfig.DefaultMaxAckPending;
        int maxDeliver = reader.Int32("max_deliver", 1, 1000) ?? NatsSourceConfig.DefaultMaxDeliver;
        if (batch > maxAckPending && reader.Entry("batch") is { } batchKey)
        {
            reader.Context.Error(batchKey.Value.Position, $"batch: {batch} is more than max_ack_pending ({maxAckPending}): a pull could never be filled");
        }

        bool partitionsValid = NatsPartitions(reader, subject, out EquatableArray<int> partitions, out int partitionCount, out bool leases,
            out string? leaseBucket, out Duration? leaseTtl);
        return url is null || stream is null || consumer is null || !partitionsValid
            ? null
            : new NatsSourceConfig(name, declared, format, maxEventBytes, url, stream, subject, consumer, batch, ackWait ?? NatsSourceConfig.DefaultAckWait,
                maxAckPending, maxDeliver, partitions, partitionCount, leases, leaseBucket, leaseTtl);
    }

    /// <summary>
    /// <c>partitions</c> (a list of numbers, or <c>"auto"</c> for leases), <c>partition_count</c>,
    /// <c>lease_bucket</c> and <c>lease_ttl</c>, checked against the subject's <c>{partition}</c>:
    /// each owned partition is one durable consumer filtered on one concrete subject, which is what
    /// a 2.9 server can do (one <c>filter_subject</c> per consumer).
    /// </summary>
    private static bool NatsPartitions(TableReader reader, string? subject, out EquatableArray<int> partitions, out int count, out bool leases,
        out string? leaseBucket, out Duration? leaseTtl)
    {
        partitions = default;
        leases = false;
        count = reader.Int32("partition_count", 1, MaxNatsPartitions) ?? 0;
        leaseBucket = NatsNames.Name(reader, "lease_bucket");
        leaseTtl = reader.Duration("lease_ttl", MinLeaseTtl);
        bool valid = true;
        if (leaseTtl > MaxLeaseTtl)
        {
            reader.Context.Error(reader.Entry("lease_ttl")!.Value.Position, $"lease_ttl: at most {MaxLeaseTtl}");
            valid = false;
        }

        if (leaseBucket is not null && leaseBucket.AsSpan().ContainsAnyExcept(BucketCharacters))
        {
            reader.Context.Error(reader.Entry("lease_bucket")!.Value.Position,
                $"lease_bucket: '{leaseBucket}' is not a key-value bucket name (letters, digits, '-' and '_')");
            valid = false;
        }

        List<(long Value, ConfigPosition Position)>? listed = null;
        TomlEntry? entry = reader.Entry("partitions");
        if (entry is { Value: TomlValue { Syntax: StringValueSyntax { Value: { } text } } value })
        {
            if (text != "auto")
            {
                reader.Context.Error(value.Position, $"partitions: expected a list of partition numbers or \"auto\" (claimed through leases), found \"{text}\"");
                return false;
            }

            leases = true;
        }
        else if (entry is not null)
        {
            listed = reader.IntegerArray("partitions");
            if (listed is null)
            {
                return false;
            }
        }

        bool partitioned = leases || listed is not null;
        ConfigPosition at = entry?.KeyPosition ?? reader.Table.Position;
        if (!partitioned)
        {
            if (count > 0 || (subject?.Contains(NatsSourceConfig.PartitionToken, StringComparison.Ordinal) ?? false))
            {
                ConfigPosition where = reader.Entry("partition_count")?.KeyPosition ?? reader.Entry("subject")!.Value.Position;
                reader.Context.Error(where, "partition_count and {partition} in the subject go with partitions (a list, or \"auto\" for leases)");
                return false;
            }

            foreach (string key in new[] { "lease_bucket", "lease_ttl" })
            {
                if (reader.Entry(key) is { } stray)
                {
                    reader.Context.Error(stray.KeyPosition, $"{key}: leases need partitions = \"auto\"");
                    valid = false;
                }
            }

            return valid;
        }

        if (subject is null || subject.Split(NatsSourceConfig.PartitionToken).Length != 2)
        {
            ConfigPosition where = reader.Entry("subject")?.Value.Position ?? at;
            reader.Context.Error(where, $"partitions: the subject needs {NatsSourceConfig.PartitionToken} once (e.g. subject = \"events.{{partition}}\", as the nats sink publishes)");
            return false;
        }

        if (subject.Replace(NatsSourceConfig.PartitionToken, "0", StringComparison.Ordinal).AsSpan().IndexOfAny("{}*>") >= 0)
        {
            reader.Context.Error(reader.Entry("subject")!.Value.Position,
                $"subject: '{subject}': a partitioned subject has no wildcards and no placeholder but {NatsSourceConfig.PartitionToken}: each partition is one concrete subject");
            return false;
        }

        if (count == 0)
        {
            reader.Missing("partition_count", " (how many partitions the producers spread over: the nats sink's partitions)");
            return false;
        }

        if (!leases)
        {
            foreach (string key in new[] { "lease_bucket", "lease_ttl" })
            {
                if (reader.Entry(key) is { } stray)
                {
                    reader.Context.Error(stray.KeyPosition, $"{key}: leases need partitions = \"auto\", not a list");
                    valid = false;
                }
            }

            if (listed!.Count == 0)
            {
                reader.Context.Error(entry!.Value.Position, "partitions: an empty list owns nothing");
                return false;
            }

            foreach ((long number, ConfigPosition position) in listed)
            {
                if (number < 0 || number >= count)
                {
                    reader.Context.Error(position, $"partitions: {number} is not a partition of partition_count {count} (0 to {count - 1})");
                    valid = false;
                }
            }

            valid &= reader.CheckDistinct("partitions", listed, n => n.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (valid)
            {
                partitions = new EquatableArray<int>(listed.Select(p => (int)p.Value));
            }
        }

        return valid;
    }

    private static HostPort? RequiredAddress(TableReader reader)
    {
        HostPort? address = reader.Address("address", allowPortZero: true);
        if (reader.Table.Find("address") is null)
        {
            reader.Missing("address", " (e.g. address = \"127.0.0.1:7400\")");
        }

        return address;
    }
}
