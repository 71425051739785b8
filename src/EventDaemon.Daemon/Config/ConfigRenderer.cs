using System.Globalization;
using System.Text;
using EventDaemon.Daemon.Config.Internal;

namespace EventDaemon.Daemon.Config;

/// <summary>
/// Writes a config back as TOML with every default spelled out and every path resolved: the
/// reply to the <c>config</c> control command. The text loads back to an equal
/// <see cref="EventdConfig"/>, so an operator can save it and run it.
/// </summary>
public static class ConfigRenderer
{
    public static string Render(EventdConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var toml = new TomlText();
        toml.Comment($"Effective configuration of eventd, loaded from {config.SourceName}.");
        toml.Comment("Every default is written out and relative paths are resolved.");

        DaemonSettings daemon = config.Daemon;
        toml.Table("daemon");
        toml.String("control_socket", daemon.ControlSocket);
        toml.Integer("ring_size", daemon.RingSize);
        toml.String("arena_size", daemon.ArenaSize.ToString());
        toml.Integer("max_event_bytes", daemon.MaxEventBytes);
        toml.String("wait_strategy", ConfigNames.WaitStrategies.NameOf(daemon.WaitStrategy));
        if (!daemon.ConsumerCpus.IsEmpty)
        {
            toml.Integers("consumer_cpus", daemon.ConsumerCpus);
        }

        toml.Boolean("lock_memory", daemon.LockMemory);
        toml.String("state_dir", daemon.StateDir);
        toml.Integer("errors_kept", daemon.ErrorsKept);
        toml.String("drain_timeout", daemon.DrainTimeout.ToString());
        toml.Boolean("fuse_chains", daemon.FuseChains);
        toml.Boolean("idle_handoff", daemon.IdleHandoff);
        if (daemon.IoThreads > 0)
        {
            toml.Integer("io_threads", daemon.IoThreads);
        }

        if (daemon.LogFormat != LogFormat.Text)
        {
            toml.String("log_format", ConfigNames.LogFormats.NameOf(daemon.LogFormat));
        }

        if (daemon.Http is { } http)
        {
            toml.String("http", http.ToString());
        }

        if (config.Journal is { } journal)
        {
            toml.Table(JournalBinder.Table);
            toml.String("dir", journal.Directory);
            toml.String("segment_bytes", journal.SegmentBytes.ToString());
            toml.String("retention_bytes", journal.RetentionBytes.ToString());
            toml.String("fsync", JournalBinder.FsyncChoices.NameOf(journal.Fsync));
            toml.String("when_full", JournalBinder.WhenFullChoices.NameOf(journal.WhenFull));
        }

        foreach (SourceConfig source in config.Sources.Ordered)
        {
            Source(toml, source);
        }

        foreach (TransformConfig transform in config.Transforms.Ordered)
        {
            Transform(toml, transform);
        }

        foreach (SinkConfig sink in config.Sinks.Ordered)
        {
            Sink(toml, sink);
        }

        return toml.ToString();
    }

    private static void Source(TomlText toml, SourceConfig source)
    {
        toml.Table($"sources.{source.Name}");
        toml.String("type", source.TypeName);
        toml.String("format", ConfigNames.Formats.NameOf(source.Format));
        toml.Integer("max_event_bytes", source.MaxEventBytes);
        switch (source)
        {
            case TcpSourceConfig tcp:
                toml.String("address", tcp.Address.ToString());
                toml.Integer("max_connections", tcp.MaxConnections);
                toml.String("idle_timeout", SourceConfig.RenderIdleTimeout(tcp.IdleTimeout));
                break;
            case UdpSourceConfig udp:
                toml.String("address", udp.Address.ToString());
                break;
            case UnixSourceConfig unix:
                toml.String("path", unix.Path);
                toml.Integer("max_connections", unix.MaxConnections);
                toml.String("idle_timeout", SourceConfig.RenderIdleTimeout(unix.IdleTimeout));
                break;
            case NatsSourceConfig nats:
                toml.String("url", nats.Url);
                toml.String("stream", nats.Stream);
                toml.OptionalString("subject", nats.Subject);
                toml.String("consumer", nats.Consumer);
                toml.Integer("batch", nats.Batch);
                toml.String("ack_wait", nats.AckWaitOrDefault.ToString());
                toml.Integer("max_ack_pending", nats.MaxAckPending);
                toml.Integer("max_deliver", nats.MaxDeliver);
                if (nats.LeasePartitions)
                {
                    toml.String("partitions", "auto");
                    toml.Integer("partition_count", nats.PartitionCount);
                    toml.String("lease_bucket", nats.LeaseBucketOrDefault);
                    toml.String("lease_ttl", nats.LeaseTtlOrDefault.ToString());
                }
                else if (nats.IsPartitioned)
                {
                    toml.Integers("partitions", nats.Partitions);
                    toml.Integer("partition_count", nats.PartitionCount);
                }

                break;
        }
    }

    private static void Transform(TomlText toml, TransformConfig transform)
    {
        toml.Table($"transforms.{transform.Name}");
        toml.String("type", transform.TypeName);
        toml.Strings("inputs", transform.Inputs);
        if (transform.Threads == TransformConfig.AutoThreads)
        {
            toml.String("threads", "auto");
        }
        else if (transform.Threads != 1)
        {
            toml.Integer("threads", transform.Threads);
        }

        switch (transform)
        {
            case FilterTransformConfig filter:
                toml.String("condition", filter.Condition);
                break;
            case AggregateTransformConfig aggregate:
                toml.String("window", aggregate.Window.ToString());
                toml.Strings("group_by", aggregate.GroupBy.Select(field => field.ToString()));
                toml.Strings("metrics", aggregate.Metrics.Select(ConfigNames.Metrics.NameOf));
                toml.String("time", ConfigNames.Times.NameOf(aggregate.Time));
                if (aggregate.Time == AggregateTime.Event)
                {
                    toml.String("allowed_lateness", aggregate.AllowedLateness.ToString());
                }

                toml.Integer("max_groups", aggregate.MaxGroups);
                break;
            case EnrichTransformConfig enrich:
                toml.String("field", enrich.Field.ToString());
                toml.String("table", enrich.Table);
                toml.OptionalString("key_column", enrich.KeyColumn);
                if (!enrich.Columns.IsEmpty)
                {
                    toml.Strings("columns", enrich.Columns);
                }

                break;
            case RouteTransformConfig route:
                toml.Table($"transforms.{route.Name}.routes");
                foreach (RouteOutput output in route.Routes)
                {
                    toml.String(output.Name, output.Condition);
                }

                break;
            case SampleTransformConfig sample:
                toml.Integer("rate", sample.Rate);
                toml.OptionalString("key", sample.Key?.ToString());
                break;
            case ThrottleTransformConfig throttle:
                toml.Integer("limit", throttle.Limit);
                toml.OptionalString("key", throttle.Key?.ToString());
                toml.Integer("max_keys", throttle.MaxKeys);
                break;
            case DedupeTransformConfig dedupe:
                toml.String("field", dedupe.Field.ToString());
                toml.String("window", dedupe.Window.ToString());
                toml.Integer("max_keys", dedupe.MaxKeys);
                break;
        }
    }

    private static void Sink(TomlText toml, SinkConfig sink)
    {
        toml.Table($"sinks.{sink.Name}");
        toml.String("type", sink.TypeName);
        toml.Strings("inputs", sink.Inputs);
        switch (sink)
        {
            case FileSinkConfig file:
                toml.String("path", file.Path);
                toml.OptionalString("rotate_bytes", file.RotateBytes?.ToString());
                toml.String("fsync", ConfigNames.FsyncPolicies.NameOf(file.Fsync));
                if (file.Fsync == FsyncPolicy.Interval)
                {
                    toml.String("fsync_interval", file.FsyncInterval.ToString());
                }

                break;
            case TcpSinkConfig tcp:
                toml.String("address", tcp.Address.ToString());
                toml.String("buffer_bytes", tcp.BufferBytes.ToString());
                toml.String("max_backoff", tcp.MaxBackoff.ToString());
                break;
            case NatsSinkConfig nats:
                toml.String("url", nats.Url);
                toml.String("subject", nats.Subject);
                toml.OptionalString("partition_by", nats.PartitionBy);
                if (nats.Partitions > 0)
                {
                    toml.Integer("partitions", nats.Partitions);
                }
                break;
        }
    }

    /// <summary>Just enough of a TOML writer for the config's shapes.</summary>
    private sealed class TomlText
    {
        private readonly StringBuilder _text = new();

        public void Comment(string line) =>
            _text.Append("# ").Append(line.Replace('\n', ' ').Replace('\r', ' ')).Append('\n');

        public void Table(string name) => _text.Append('\n').Append('[').Append(name).Append("]\n");

        public void String(string key, string value) => Key(key).Append(Quote(value)).Append('\n');

        public void OptionalString(string key, string? value)
        {
            if (value is not null)
            {
                String(key, value);
            }
        }

        public void Integer(string key, long value) => Key(key).Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');

        public void Boolean(string key, bool value) => Key(key).Append(value ? "true" : "false").Append('\n');

        public void Strings(string key, IEnumerable<string> values) =>
            Key(key).Append('[').AppendJoin(", ", values.Select(Quote)).Append("]\n");

        public void Integers(string key, IEnumerable<int> values) =>
            Key(key).Append('[').AppendJoin(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture))).Append("]\n");

        public override string ToString() => _text.ToString();

        private StringBuilder Key(string key) => _text.Append(key).Append(" = ");

        /// <summary>
        /// A literal string when the text allows one (conditions full of double quotes read best
        /// that way), else a basic string with escapes.
        /// </summary>
        private static string Quote(string value)
        {
            bool literal = !value.Contains('\'', StringComparison.Ordinal) && !value.Any(char.IsControl);
            if (literal && value.Contains('"', StringComparison.Ordinal))
            {
                return "'" + value + "'";
            }

            var quoted = new StringBuilder(value.Length + 2).Append('"');
            foreach (char c in value)
            {
                _ = c switch
                {
                    '"' => quoted.Append("\\\""),
                    '\\' => quoted.Append("\\\\"),
                    '\n' => quoted.Append("\\n"),
                    '\r' => quoted.Append("\\r"),
                    '\t' => quoted.Append("\\t"),
                    _ when char.IsControl(c) => quoted.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)),
                    _ => quoted.Append(c),
                };
            }

            return quoted.Append('"').ToString();
        }
    }
}
