using EventDaemon.Daemon.Config;
using Xunit;

namespace EventDaemon.Daemon.Tests.Config;

/// <summary><c>[daemon] io_threads</c> and a stream source's <c>idle_timeout</c>: defaults, bounds, "0".</summary>
public sealed class IoSettingsTests
{
    [Fact]
    public void Defaults_AreOneLoopPerCpu_AndFiveMinutesOfSilence()
    {
        EventdConfig config = ConfigTesting.Valid(ConfigTesting.Pipeline);
        ConfigTesting.Equal(0, config.Daemon.IoThreads, "io_threads when absent (0 = one per CPU)");
        var tcp = (TcpSourceConfig)config.Sources["in"];
        ConfigTesting.Equal(SourceConfig.DefaultIdleTimeout, tcp.IdleTimeout ?? SourceConfig.DefaultIdleTimeout, "idle_timeout when absent");
        ConfigTesting.Equal(Duration.FromSeconds(300), tcp.IdleTimeout, "the default idle_timeout is 5 minutes");
    }

    [Fact]
    public void IoThreadsAndIdleTimeout_AreRead_AndZeroDisablesTheTimeout()
    {
        EventdConfig config = ConfigTesting.Valid("[daemon]\nio_threads = 4\n\n" + ConfigTesting.Pipeline + "\n");
        ConfigTesting.Equal(4, config.Daemon.IoThreads, "io_threads = 4");

        config = ConfigTesting.Valid(ConfigTesting.Pipeline.Replace("address = \"127.0.0.1:7400\"", "address = \"127.0.0.1:7400\"\nidle_timeout = \"0\"", StringComparison.Ordinal));
        ConfigTesting.Equal(Duration.Zero, ((TcpSourceConfig)config.Sources["in"]).IdleTimeout, "idle_timeout = \"0\" disables it");

        config = ConfigTesting.Valid(ConfigTesting.Pipeline.Replace("address = \"127.0.0.1:7400\"", "address = \"127.0.0.1:7400\"\nidle_timeout = \"90s\"", StringComparison.Ordinal));
        ConfigTesting.Equal(Duration.FromSeconds(90), ((TcpSourceConfig)config.Sources["in"]).IdleTimeout, "idle_timeout = \"90s\"");
    }

    [Theory]
    [InlineData("0")]
    [InlineData("65")]
    public void IoThreadsOutOfRange_IsRefusedAtItsValue(string value)
    {
        string[] lines = ConfigTesting.Lines(ConfigTesting.Parse($"[daemon]\nio_threads = {value}\n\n" + ConfigTesting.Pipeline));
        Assert.True(lines.Any(l => l.StartsWith("test.toml:2:14:", StringComparison.Ordinal) && l.Contains("io_threads", StringComparison.Ordinal)),
            $"io_threads = {value} was not refused at its value: [{string.Join(" | ", lines)}]");
    }

    [Theory]
    [InlineData("\"50ms\"")]
    [InlineData("\"25h\"")]
    [InlineData("30")]
    public void IdleTimeoutOutOfRange_IsRefusedAtItsValue(string value)
    {
        string toml = ConfigTesting.Pipeline.Replace("address = \"127.0.0.1:7400\"", $"address = \"127.0.0.1:7400\"\nidle_timeout = {value}", StringComparison.Ordinal);
        string[] lines = ConfigTesting.Lines(ConfigTesting.Parse(toml));
        Assert.True(lines.Any(l => l.StartsWith("test.toml:4:16:", StringComparison.Ordinal) && l.Contains("idle_timeout", StringComparison.Ordinal)),
            $"idle_timeout = {value} was not refused at its value: [{string.Join(" | ", lines)}]");
    }
}
