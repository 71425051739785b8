namespace EventDaemon.LoadGen.Bench;

/// <summary>The daemon configs of the benchmark, written into the run's temporary directory.</summary>
internal static class Configs
{
    /// <summary>Slot size of eventd's ring (one cache line), for the memory budget.</summary>
    public const long SlotBytes = 64;

    public const int RingSize = 65_536;

    public const long ArenaBytes = 64L << 20;

    /// <summary>The filter of the latency pipeline: true for every generated event, so all come back.</summary>
    public const string LatencyCondition = "value >= 0";

    private static string Daemon(string dir, bool journal = false, bool recycling = false) => $"""
        [daemon]
        control_socket = "{dir}/ctl.sock"
        ring_size = {RingSize}
        arena_size = "64MiB"
        lock_memory = true
        {(journal ? $"state_dir = \"{dir}\"" : "")}

        {(journal ? Journal : "")}
        {(journal && recycling ? JournalRecycling : "")}
        """;

    /// <summary>Small segments and retention, so that the warm-up reaches recycling (<see cref="Workload.JournalRecycling"/>).</summary>
    private const string JournalRecycling = """
        segment_bytes = "64MiB"
        retention_bytes = "512MiB"

        """;

    /// <summary>The journal as shipped (scripts/eventd.toml): group commit, default segments, under the run's directory.</summary>
    private const string Journal = """
        [journal]
        fsync = "batch"

        """;

    /// <summary>Component names of a workload's pipeline, for reading its counters.</summary>
    public const string Source = "in";
    public const string Filter = "wanted";
    public const string Aggregate = "agg";
    public const string Sink = "discard";

    /// <summary>
    /// TCP (the workload's format) → filter → aggregate (1 s processing-time windows) → blackhole.
    /// <paramref name="aggregateThreads"/>, when set, is written as the aggregate's <c>threads</c>.
    /// </summary>
    public static string ForWorkload(string dir, int port, Workload w, int? aggregateThreads)
    {
        static string Quoted(string[] items) => string.Join(", ", items.Select(i => $"\"{i}\""));
        var toml = new System.Text.StringBuilder(Daemon(dir, w.Journal, w.JournalRecycling));
        toml.Append($"""

            [sources.{Source}]
            type = "tcp"
            address = "127.0.0.1:{port}"
            format = "{(w.Format == Generation.EventFormat.Json ? "json" : "binary")}"

            [transforms.{Filter}]
            type = "filter"
            inputs = ["{Source}"]
            condition = '{w.Condition}'

            [transforms.{Aggregate}]
            type = "aggregate"
            inputs = ["{Filter}"]
            window = "1s"
            time = "processing"
            group_by = [{Quoted(w.GroupBy)}]
            metrics = [{Quoted(w.Metrics)}]

            """);
        if (w.MaxGroups is int maxGroups)
        {
            toml.Append(System.Globalization.CultureInfo.InvariantCulture, $"max_groups = {maxGroups}\n");
        }

        if (aggregateThreads is int threads)
        {
            toml.Append(System.Globalization.CultureInfo.InvariantCulture, $"threads = {threads}\n");
        }

        toml.Append($"""

            [sinks.{Sink}]
            type = "blackhole"
            inputs = ["{Aggregate}"]

            """);
        return toml.ToString();
    }

    /// <summary>TCP (JSON) → filter → tcp sink back to the generator; with
    /// <paramref name="idleHandoff"/> (the default), the source thread runs the chain when it is idle.</summary>
    public static string Latency(string dir, int port, int returnPort, bool idleHandoff = true) => Daemon(dir) + $"""
        idle_handoff = {(idleHandoff ? "true" : "false")}

        [sources.json]
        type = "tcp"
        address = "127.0.0.1:{port}"
        format = "json"

        [transforms.all]
        type = "filter"
        inputs = ["json"]
        condition = '{LatencyCondition}'

        [sinks.back]
        type = "tcp"
        inputs = ["all"]
        address = "127.0.0.1:{returnPort}"

        """;
}
