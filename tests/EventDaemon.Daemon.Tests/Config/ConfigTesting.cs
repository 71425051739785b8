using EventDaemon.Daemon.Config;
using Xunit;

namespace EventDaemon.Daemon.Tests.Config;

/// <summary>Parsing and asserting helpers shared by the config tests.</summary>
internal static class ConfigTesting
{
    public const string File = "test.toml";

    /// <summary>The smallest valid pipeline, for tests that only care about one table.</summary>
    public const string Pipeline = """
        [sources.in]
        type = "tcp"
        address = "127.0.0.1:7400"

        [sinks.out]
        type = "stdout"
        inputs = ["in"]
        """;

    /// <summary>SPEC §3's complete example, verbatim.</summary>
    public const string SpecExample = """
        [daemon]
        control_socket = "/run/eventd/eventd.sock"
        ring_size = 1048576            # slots, a power of two
        arena_size = "256MiB"          # payload bytes
        max_event_bytes = 65536
        wait_strategy = "adaptive"     # adaptive | busy-spin | yielding | sleeping | blocking
        consumer_cpus = [1]            # CPUs the consumer threads are pinned to (optional)
        lock_memory = true             # mlock ring and arena
        state_dir = "/var/lib/eventd"  # journal and checkpoints

        [sources.in]
        type = "tcp"                   # tcp | udp | unix | nats
        address = "127.0.0.1:7400"     # unix: path = "/run/eventd/in.sock"
        format = "json"                # json | binary
        max_connections = 1024

        [transforms.purchases]
        type = "filter"
        inputs = ["in"]
        condition = 'type == "purchase" && value > 0'

        [transforms.per_user]
        type = "aggregate"
        inputs = ["purchases"]
        window = "1s"
        group_by = ["type", "key"]
        metrics = ["count", "sum", "min", "max", "mean", "p50", "p99"]
        time = "event"                 # event | processing
        allowed_lateness = "2s"
        max_groups = 1000000

        [sinks.out]
        type = "file"                  # stdout | file | tcp | blackhole | nats
        inputs = ["per_user"]
        path = "/var/lib/eventd/per_user.jsonl"
        """;

    /// <summary>
    /// A stand-in for the expression compiler: rejects any condition containing <c>@@</c>, at the
    /// position of the first <c>@</c>, with the compiler's conventions (1-based line and column,
    /// columns in Unicode scalar values). It tests how positions are mapped, not the language.
    /// </summary>
    public static readonly IConditionValidator RejectsAtAt = new DelegateConditionValidator(condition =>
    {
        int offset = condition.IndexOf("@@", StringComparison.Ordinal);
        if (offset < 0)
        {
            return null;
        }

        int line = 1;
        int column = 1;
        for (int i = 0; i < offset; i++)
        {
            char c = condition[i];
            if (c == '\n' || (c == '\r' && condition[i + 1] != '\n'))
            {
                line++;
                column = 1;
            }
            else if (c != '\r' && !char.IsLowSurrogate(c))
            {
                column++;
            }
        }

        return new ConditionError(line, column, "unexpected '@@'");
    });

    public static ConfigResult Parse(string toml, IConditionValidator? conditions = null) =>
        ConfigLoader.Parse(toml, File, conditions);

    public static string[] Lines(ConfigResult result) => [.. result.Diagnostics.Select(ErrorFormatter.Format)];

    /// <summary>Parses <paramref name="toml"/> and asserts it is valid, showing the diagnostics if not.</summary>
    public static EventdConfig Valid(string toml, IConditionValidator? conditions = null)
    {
        ConfigResult result = Parse(toml, conditions);
        Assert.True(result.Succeeded, "expected a valid config, got:\n" + string.Join('\n', Lines(result)));
        return result.Config;
    }

    /// <summary>Asserts the diagnostics are exactly <paramref name="expected"/>, in order.</summary>
    public static void Reports(ConfigResult result, params string[] expected)
    {
        string[] actual = Lines(result);
        Assert.True(
            actual.SequenceEqual(expected),
            $"diagnostics differ.\nexpected:\n  {string.Join("\n  ", expected)}\nactual:\n  {string.Join("\n  ", actual)}");
    }

    /// <summary>Asserts the config is rejected with exactly these diagnostics.</summary>
    public static void Rejects(string toml, params string[] expected) => Rejects(toml, null, expected);

    public static void Rejects(string toml, IConditionValidator? conditions, params string[] expected)
    {
        ConfigResult result = Parse(toml, conditions);
        Assert.False(result.Succeeded, "the config was accepted but should have been rejected");
        Reports(result, expected);
    }

    public static void Equal<T>(T expected, T actual, string what) =>
        Assert.True(EqualityComparer<T>.Default.Equals(expected, actual), $"{what}: expected {expected}, got {actual}");
}
