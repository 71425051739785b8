using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary>
/// <c>eventd top</c> in a real 80×24 terminal (tmux) against a daemon under load: the live view
/// shows the table with moving rates, <c>q</c> gives the terminal back at once, a daemon that goes
/// away ends the view with exit 1, and <c>--once</c> prints plain text for scripts.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class TopCommandTests(ITestOutputHelper output)
{
    private static string Topology(DaemonLayout l) => $"""
        [sources.in]
        type = "tcp"
        address = "{l.Address("in")}"
        format = "json"

        [transforms.clicks]
        type = "filter"
        inputs = ["in"]
        condition = 'type == "click"'

        [sinks.out]
        type = "blackhole"
        inputs = ["clicks"]
        """;

    private const string Lines = """
        {"type":"click","value":1}
        {"type":"view","value":2}

        """;

    [Fact]
    public void Top_InATerminal_ShowsMovingRates_AndQuitsOnQ()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Topology);
        using Traffic traffic = Traffic.Start(daemon.Layout.Port("in"), string.Concat(Enumerable.Repeat(Lines, 50)));
        using Tmux terminal = Tmux.Start(80, 24);
        terminal.Type($"{EventdBinary.Path} top --socket {daemon.ControlSocket}; echo top-exit=$?");

        // The second reading gives rates: wait for the filter's row with a rate other than 0 or -.
        string screen = Eventually.Value(
            terminal.Capture,
            s => RateOf(s, "clicks") is { } rate && rate != "0" && rate != "-" && RateOf(s, "in") is not (null or "0" or "-"),
            s => "no moving rate for 'clicks' and 'in' on the screen:\n" + s);
        Assert.True(screen.Contains("NAME", StringComparison.Ordinal) && screen.Contains("eventd top", StringComparison.Ordinal), $"no title or header:\n{screen}");
        Assert.True(screen.Contains("health ok", StringComparison.Ordinal), $"no health line:\n{screen}");
        Assert.True(terminal.AlternateScreen, "top does not draw on the alternate screen");
        Assert.True(screen.Split('\n').All(l => l.Length <= 80), $"a line is wider than the terminal:\n{screen}");

        terminal.Press("q");
        string after = Eventually.Value(
            terminal.Capture,
            s => ExitShown.IsMatch(s),
            s => "the shell did not come back after q:\n" + s);
        Assert.True(after.Contains("top-exit=0", StringComparison.Ordinal), $"top did not exit 0 on q:\n{after}");
        Assert.False(after.Contains("NAME", StringComparison.Ordinal), $"the view was left on the shell's screen:\n{after}");
        Assert.False(terminal.AlternateScreen, "the alternate screen was not left");
    }

    [Fact]
    public void Top_WhenTheDaemonGoesAway_RestoresTheTerminalAndExits1()
    {
        DaemonProcess daemon = DaemonProcess.Start(output, Topology);
        using Tmux terminal = Tmux.Start(80, 24);
        try
        {
            terminal.Type($"{EventdBinary.Path} top --socket {daemon.ControlSocket}; echo top-exit=$?");
            Eventually.True(() => terminal.Capture().Contains("NAME", StringComparison.Ordinal), () => "the view never appeared:\n" + terminal.Capture());
        }
        finally
        {
            daemon.Dispose();
        }

        string after = Eventually.Value(
            terminal.Capture,
            s => ExitShown.IsMatch(s),
            s => "top did not end when the daemon went away:\n" + s);
        Assert.True(after.Contains("top-exit=1", StringComparison.Ordinal), $"expected exit 1:\n{after}");
        Assert.True(after.Contains("cannot reach the daemon", StringComparison.Ordinal), $"no line saying the daemon is gone:\n{after}");
        Assert.False(terminal.AlternateScreen, "the alternate screen was not left");
    }

    [Fact]
    public void TopOnce_PrintsOnePlainSnapshot()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Topology);
        using Traffic traffic = Traffic.Start(daemon.Layout.Port("in"), string.Concat(Enumerable.Repeat(Lines, 50)));
        CliResult result = daemon.Cli("top", "--once");
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.False(result.Stdout.Contains('\e'), $"--once printed escape sequences:\n{result.Describe()}");
        foreach (string row in new[] { "NAME ", "in ", "clicks ", "out " })
        {
            Assert.True(result.Stdout.Split('\n').Any(l => l.StartsWith(row, StringComparison.Ordinal)), $"no '{row.Trim()}' line:\n{result.Describe()}");
        }
    }

    [Fact]
    public void Top_WithNoDaemon_SaysSoAndExits1()
    {
        CliResult result = EventdBinary.Run("top", "--once", "--socket", "/nonexistent/eventd.sock");
        Assert.True(result.ExitCode == 1, result.Describe());
        Assert.True(result.StderrLines.Length == 1 && result.Stderr.Contains("cannot reach the daemon", StringComparison.Ordinal), result.Describe());
        result.AssertNoStackTrace();
    }

    /// <summary>The echo's output, <c>top-exit=N</c>: the typed command line itself holds <c>top-exit=$?</c>,
    /// which the screen shows (wrapped or not) before the shell has run the echo.</summary>
    private static readonly System.Text.RegularExpressions.Regex ExitShown = new("top-exit=[0-9]");

    /// <summary>The RATE/s cell of <paramref name="name"/>'s row on the screen, or null without such a row.</summary>
    private static string? RateOf(string screen, string name)
    {
        foreach (string line in screen.Split('\n'))
        {
            string[] cells = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (cells.Length >= 3 && cells[0] == name)
            {
                return cells[2];
            }
        }

        return null;
    }
}
