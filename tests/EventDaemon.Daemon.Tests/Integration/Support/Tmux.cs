using System.Diagnostics;
using Xunit;

namespace EventDaemon.Daemon.Tests.Integration.Support;

/// <summary>
/// A real terminal for tests of interactive commands: a tmux server of its own (its own socket
/// name, no user config) with one detached session of a fixed size running <c>sh</c> with a
/// known prompt. <see cref="Capture"/> reads the screen as a person would see it; Dispose ends the server.
/// </summary>
internal sealed class Tmux : IDisposable
{
    /// <summary>The shell's prompt: a line that says the shell is back in charge of the terminal.</summary>
    public const string Prompt = "tmux-test$ ";

    private static readonly TimeSpan CommandDeadline = TimeSpan.FromSeconds(30);

    private readonly string _server = "eventd-test-" + Guid.NewGuid().ToString("N")[..12];

    private Tmux(int width, int height)
    {
        Run("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", width.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-y", height.ToString(System.Globalization.CultureInfo.InvariantCulture), "env", "PS1=" + Prompt, "sh");
        Eventually.True(() => Capture().Contains(Prompt.TrimEnd(), StringComparison.Ordinal), () => "the shell never showed its prompt:\n" + Capture());
    }

    public static Tmux Start(int width = 80, int height = 24) => new(width, height);

    /// <summary>Types <paramref name="line"/> and Enter.</summary>
    public void Type(string line)
    {
        Run("send-keys", "-t", "t", "-l", line);
        Run("send-keys", "-t", "t", "Enter");
    }

    /// <summary>Presses keys as tmux names them (<c>q</c>, <c>C-c</c>).</summary>
    public void Press(string key) => Run("send-keys", "-t", "t", key);

    /// <summary>The visible screen, one string with a line feed per row.</summary>
    public string Capture() => Run("capture-pane", "-p", "-t", "t");

    /// <summary>Whether the program in the pane has the alternate screen.</summary>
    public bool AlternateScreen => Run("display-message", "-p", "-t", "t", "#{alternate_on}").Trim() == "1";

    public void Dispose()
    {
        try
        {
            Run("kill-server");
        }
        catch (Xunit.Sdk.XunitException)
        {
            // Already gone: nothing to end.
        }
    }

    private string Run(params string[] args)
    {
        var start = new ProcessStartInfo("tmux")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-L");
        start.ArgumentList.Add(_server);
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start tmux");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(CommandDeadline))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"tmux {string.Join(' ', args)} did not finish within {CommandDeadline.TotalSeconds:0} s");
        }

        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            Assert.Fail($"tmux {string.Join(' ', args)} -> exit {process.ExitCode}: {stderr.Result}");
        }

        return stdout.Result;
    }
}
