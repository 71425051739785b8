namespace EventDaemon.LoadGen.Bench;

/// <summary>The daemon configs of the benchmark, written into the run's temporary directory.</summary>
internal static class Configs
{
    /// <summary>Slot size of eventd's ring (one cache line), for the memory budget.</summary>
    public const long SlotBytes = 64;

    public const int RingSize = 65_536;

    public const long ArenaBytes = 64L << 20;

    /// <summary>The filter of the throughput pipeline; the baseline applies the same test in code.</summary>
    public const string ThroughputCondition = "type == \"purchase\" || type == \"click\"";

    /// <summary>The filter of the latency pipeline: true for every generated event, so all come back.</summary>
    public const string LatencyCondition = "value >= 0";

    private static string Daemon(string dir) => $"""
        [daemon]
        control_socket = "{dir}/ctl.sock"
        ring_size = {RingSize}
        arena_size = "64MiB"
        lock_memory = true

        """;

    /// <summary>TCP (JSON and binary) → filter → aggregate (1 s processing time by type: count sum p99) → blackhole.</summary>
    public static string Throughput(string dir, int jsonPort, int binaryPort) => Daemon(dir) + $"""
        [sources.json]
        type = "tcp"
        address = "127.0.0.1:{jsonPort}"
        format = "json"

        [sources.bin]
        type = "tcp"
        address = "127.0.0.1:{binaryPort}"
        format = "binary"

        [transforms.wanted]
        type = "filter"
        inputs = ["json", "bin"]
        condition = '{ThroughputCondition}'

        [transforms.per_type]
        type = "aggregate"
        inputs = ["wanted"]
        window = "1s"
        time = "processing"
        group_by = ["type"]
        metrics = ["count", "sum", "p99"]

        [sinks.discard]
        type = "blackhole"
        inputs = ["per_type"]

        """;

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
