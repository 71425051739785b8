using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary><c>ctl info</c> speaks the config's language: the settings as a config would spell them.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class CtlInfoTests(ITestOutputHelper output)
{
    [Fact]
    public void Info_SpellsWaitStrategyAndBooleansAsTheConfigDoes()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, l => $"""
            [sources.in]
            type = "tcp"
            address = "{l.Address("in")}"
            format = "json"

            [sinks.out]
            type = "blackhole"
            inputs = ["in"]
            """, new DaemonOptions { DaemonSettings = "wait_strategy = \"blocking\"" });

        CliResult info = daemon.Cli("ctl", "info");

        Assert.True(info.ExitCode == 0, info.Describe());
        string[] lines = info.Stdout.Split('\n');
        Assert.True(lines.Contains("wait_strategy blocking"), $"expected the config's spelling 'blocking':\n{info.Describe()}");
        string ring = lines.Single(l => l.StartsWith("ring ", StringComparison.Ordinal));
        Assert.Matches("locked=(true|false), huge_pages_advised=(true|false)$", ring);
        Assert.False(info.Stdout.Contains("=True", StringComparison.Ordinal) || info.Stdout.Contains("=False", StringComparison.Ordinal),
            $".NET's True/False should not appear:\n{info.Describe()}");
    }
}
