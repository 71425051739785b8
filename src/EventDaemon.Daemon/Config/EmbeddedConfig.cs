namespace EventDaemon.Daemon.Config;

/// <summary>
/// The config <c>eventd run</c> uses without <c>--config</c> (SPEC §6): JSON over TCP and UDP on
/// loopback, a one-second count/sum/min/max/mean/p99 per event type, printed to stdout. It goes
/// through the same loader as any file, so it is held to the same rules (a test proves it valid).
/// </summary>
public static class EmbeddedConfig
{
    /// <summary>What messages and <c>info</c> name as the config's path.</summary>
    public const string SourceName = "<embedded>";

    public const string Text = """
        # eventd's built-in configuration, used when `eventd run` is given no --config.
        # Try it:  echo '{"type":"click","value":3}' | nc -q1 127.0.0.1 7400
        # The control socket is at the default path; see `eventd ctl help`.

        [sources.tcp]
        type = "tcp"
        address = "127.0.0.1:7400"
        format = "json"

        [sources.udp]
        type = "udp"
        address = "127.0.0.1:7401"
        format = "json"

        [transforms.by_type]
        type = "aggregate"
        inputs = ["tcp", "udp"]
        window = "1s"
        time = "processing"
        group_by = ["type"]
        metrics = ["count", "sum", "min", "max", "mean", "p99"]

        [sinks.stdout]
        type = "stdout"
        inputs = ["by_type"]

        """;

    /// <summary>Loads <see cref="Text"/>.</summary>
    public static ConfigResult Load(IConditionValidator? conditions = null) => ConfigLoader.Parse(Text, SourceName, conditions);
}
