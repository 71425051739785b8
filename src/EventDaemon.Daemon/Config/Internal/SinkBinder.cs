namespace EventDaemon.Daemon.Config.Internal;

/// <summary>Binds one <c>[sinks.NAME]</c> table.</summary>
internal static class SinkBinder
{
    /// <summary>Smaller files than a page of output would rotate on nearly every batch.</summary>
    private static readonly ByteSize MinRotate = new(4 * ByteSize.KiB);

    private static readonly ByteSize MinBuffer = new(4 * ByteSize.KiB);

    private static readonly ByteSize MaxBuffer = new(ByteSize.GiB);

    public static ComponentDraft Bind(string name, TomlTable table, ConfigPosition keyPosition, BindContext context)
    {
        ConfigPosition declared = ComponentBinding.Declared(table, keyPosition);
        var draft = new ComponentDraft(name, ComponentKind.Sink, declared);
        int errorsBefore = context.Diagnostics.ErrorCount;
        var reader = new TableReader(context, table, $"sink '{name}'", declared);

        string? type = ComponentBinding.ReadType(reader, ConfigNames.SinkTypes, "sink");
        ComponentBinding.ReadInputs(reader, draft);
        EquatableArray<string> inputs = ComponentBinding.InputNames(draft);
        SinkConfig? config = type switch
        {
            "stdout" => new StdoutSinkConfig(name, declared, inputs),
            "file" => File(reader, name, declared, inputs),
            "tcp" => Tcp(reader, name, declared, inputs),
            "blackhole" => new BlackholeSinkConfig(name, declared, inputs),
            "nats" => Nats(reader, name, declared, inputs),
            _ => null,
        };
        ComponentBinding.ReportUnknownKeys(reader, type, ConfigNames.SinkKeys, "sink");
        draft.Config = context.Diagnostics.ErrorCount == errorsBefore ? config : null;
        return draft;
    }

    private static FileSinkConfig? File(TableReader reader, string name, ConfigPosition declared, EquatableArray<string> inputs)
    {
        string? path = reader.Path("path");
        if (reader.Table.Find("path") is null)
        {
            reader.Missing("path", " (the file to append JSON lines to)");
        }

        if (path is not null && reader.Context.CheckMachine)
        {
            MachineChecks.FileSinkPath(reader.Context, path, reader.Entry("path")!.Value.Position);
        }

        ByteSize? rotate = reader.Size("rotate_bytes", MinRotate, new ByteSize(long.MaxValue));
        FsyncPolicy? fsyncValue = reader.Choice("fsync", ConfigNames.FsyncPolicies);
        bool fsyncInvalid = fsyncValue is null && reader.Table.Find("fsync") is not null;
        FsyncPolicy fsync = fsyncValue ?? FileSinkConfig.DefaultFsync;
        Duration? interval = reader.Duration("fsync_interval", new Duration(1));
        if (interval is not null && fsync != FsyncPolicy.Interval && !fsyncInvalid)
        {
            string now = fsyncValue is null ? "the default is \"never\"" : $"this sink has fsync = \"{ConfigNames.FsyncPolicies.NameOf(fsync)}\"";
            reader.Context.Error(reader.Table.Find("fsync_interval")!.KeyPosition, $"fsync_interval: only applies with fsync = \"interval\" ({now})");
        }

        return path is null ? null : new FileSinkConfig(name, declared, inputs, path, rotate, fsync, interval ?? FileSinkConfig.DefaultFsyncInterval);
    }

    private static TcpSinkConfig? Tcp(TableReader reader, string name, ConfigPosition declared, EquatableArray<string> inputs)
    {
        HostPort? address = reader.Address("address", allowPortZero: false);
        if (reader.Table.Find("address") is null)
        {
            reader.Missing("address", " (the host:port to send JSON lines to)");
        }

        ByteSize buffer = reader.Size("buffer_bytes", MinBuffer, MaxBuffer) ?? TcpSinkConfig.DefaultBufferBytes;
        Duration backoff = reader.Duration("max_backoff", Duration.FromMilliseconds(1)) ?? TcpSinkConfig.DefaultMaxBackoff;
        return address is { } a ? new TcpSinkConfig(name, declared, inputs, a, buffer, backoff) : null;
    }

    /// <summary>A partition is a subject a consumer filters on: thousands of them are already more than a fleet runs.</summary>
    private const int MaxPartitions = 4096;

    private static NatsSinkConfig? Nats(TableReader reader, string name, ConfigPosition declared, EquatableArray<string> inputs)
    {
        string? url = NatsNames.Url(reader, "url", NatsSourceConfig.DefaultUrl);
        string? subject = NatsNames.Subject(reader, "subject", allowWildcards: false);
        if (reader.Table.Find("subject") is null)
        {
            reader.Missing("subject", " (the subject to publish to)");
        }

        // What this build's nats sink cannot do yet, refused here so that validate and run agree.
        if (url is not null && reader.Table.Find("url") is { } urlKey
            && url.Split(',', StringSplitOptions.TrimEntries).Any(u => !u.StartsWith("nats://", StringComparison.OrdinalIgnoreCase) || u.Contains('@', StringComparison.Ordinal)))
        {
            reader.Context.Error(urlKey.Value.Position, $"url: \"{url}\": the nats sink supports plain nats:// URLs without credentials in this build");
            url = null;
        }

        string? partitionBy = reader.Text("partition_by");
        int partitions = reader.Int32("partitions", 1, MaxPartitions) ?? 0;
        if (subject is not null)
        {
            ConfigPosition at = reader.Table.Find("subject")!.Value.Position;
            bool partitioned = subject.Contains("{partition}", StringComparison.Ordinal);
            if (subject.Replace("{partition}", "0", StringComparison.Ordinal).Contains('{', StringComparison.Ordinal)
                || subject.Replace("{partition}", "0", StringComparison.Ordinal).Contains('}', StringComparison.Ordinal))
            {
                reader.Context.Error(at, $"subject: '{subject}': the only placeholder is {{partition}}");
                subject = null;
            }
            else if (partitioned && (partitions == 0 || partitionBy is null))
            {
                reader.Context.Error(at, $"subject: '{subject}': {{partition}} needs partition_by (the field to hash) and partitions (how many)");
                subject = null;
            }
            else if (!partitioned && (partitions > 0 || partitionBy is not null))
            {
                reader.Context.Error(at, $"subject: '{subject}': partition_by and partitions need {{partition}} in the subject");
                subject = null;
            }
        }

        return url is null || subject is null ? null : new NatsSinkConfig(name, declared, inputs, url, subject, partitionBy?.TrimStart('.'), partitions);
    }
}
