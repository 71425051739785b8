using System.Net.Sockets;
using System.Text.Json;
using EventDaemon.Daemon.Control;
using Xunit;

namespace EventDaemon.Daemon.Tests.Control;

public sealed class ControlClientTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeControlTarget _target = new();
    private readonly StringWriter _stdout = new();
    private readonly StringWriter _stderr = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Stats_PrintsTheReplyToStdout_AndExits0()
    {
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);
        int exit = ControlClient.Run("stats", server.SocketPath, _stdout, _stderr);

        Assert.True(exit == ControlClient.ExitOk, $"exit {exit}, stderr: {_stderr}");
        Assert.True(_stdout.ToString() == SampleFamilies.BasicText, $"stdout: {_stdout}");
        Assert.True(_stderr.ToString().Length == 0, $"stderr not empty: {_stderr}");
    }

    [Fact]
    public void StatsJson_PrintsOneJsonObject_AndExits0()
    {
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);
        int exit = ControlClient.Run("stats json", server.SocketPath, _stdout, _stderr);

        Assert.True(exit == ControlClient.ExitOk, $"exit {exit}, stderr: {_stderr}");
        using JsonDocument json = JsonDocument.Parse(_stdout.ToString());
        Assert.True(json.RootElement.ValueKind == JsonValueKind.Object, $"stdout is not one JSON object: {_stdout}");
    }

    [Fact]
    public void Health_Ok_Exits0()
    {
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);
        int exit = ControlClient.Run("health", server.SocketPath, _stdout, _stderr);

        Assert.True(exit == ControlClient.ExitOk, $"exit {exit} for a healthy daemon, expected 0; stderr: {_stderr}");
        Assert.True(_stdout.ToString() == "ok\n", $"stdout: {_stdout}");
    }

    [Fact]
    public void Health_WithProblems_PrintsThemToStdout_AndExits1()
    {
        _target.HealthText = () => "stage fwd stalled: no progress for 6 s with 10 events waiting\nsink fwd failing: connection refused (12 errors)";
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);
        int exit = ControlClient.Run("health", server.SocketPath, _stdout, _stderr);

        Assert.True(exit == ControlClient.ExitUnhealthy, $"exit {exit} when health reports problems, expected {ControlClient.ExitUnhealthy}");
        Assert.True(_stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == 2, $"both problems must be printed on stdout: {_stdout}");
        Assert.True(_stderr.ToString().Length == 0, $"problems are the answer, not an error: stderr {_stderr}");
    }

    [Fact]
    public void ErrorReply_GoesToStderr_AndExits1()
    {
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);
        int exit = ControlClient.Run("bogus", server.SocketPath, _stdout, _stderr);

        Assert.True(exit == ControlClient.ExitCommandFailed, $"exit {exit} for an error reply, expected 1");
        Assert.True(_stderr.ToString() == "error: unknown command 'bogus' (try help)\n", $"stderr: {_stderr}");
        Assert.True(_stdout.ToString().Length == 0, $"stdout not empty: {_stdout}");
    }

    [Fact]
    public void FailedReload_Exits1_WithEveryErrorLine()
    {
        _target.ReloadReply = () => new ControlReply(false, "eventd.toml:3:7: unknown key 'rnig_size'\neventd.toml:9:1: missing input 'x'");
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);
        int exit = ControlClient.Run("reload", server.SocketPath, _stdout, _stderr);

        Assert.True(exit == ControlClient.ExitCommandFailed, $"exit {exit} for a rejected reload, expected 1");
        Assert.True(_stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == 2, $"every config error must be printed: {_stderr}");
    }

    [Fact]
    public void NoSocketAtThePath_Exits2_WithOneLineNamingPathAndFix()
    {
        int exit = ControlClient.Run("stats", _dir.Socket, _stdout, _stderr);

        Assert.True(exit == ControlClient.ExitUnreachable, $"exit {exit} with no daemon, expected 2");
        string expected = $"eventd: cannot reach the daemon at {_dir.Socket} (no such socket): is it running? start it with 'eventd run' or pass --socket\n";
        Assert.True(_stderr.ToString() == expected, $"stderr: {_stderr}");
    }

    [Fact]
    public void StaleSocketFile_Exits2_SayingConnectionRefused()
    {
        StaleSocket.Create(_dir.Socket);

        int exit = ControlClient.Run("stats", _dir.Socket, _stdout, _stderr);

        Assert.True(exit == ControlClient.ExitUnreachable, $"exit {exit} with a dead socket, expected 2");
        string expected = $"eventd: cannot reach the daemon at {_dir.Socket} (connection refused): is it running? start it with 'eventd run' or pass --socket\n";
        Assert.True(_stderr.ToString() == expected, $"stderr: {_stderr}");
        Assert.True(_stdout.ToString().Length == 0, $"stdout not empty: {_stdout}");
    }

    [Fact]
    public void DaemonThatClosesWithoutAnswer_Exits2()
    {
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(_dir.Socket));
        listener.Listen(1);
        Task closer = Task.Run(() => listener.Accept().Dispose());

        int exit = ControlClient.Run("stats", _dir.Socket, _stdout, _stderr);

        Assert.True(closer.Wait(RawClient.Deadline), "the fake daemon never accepted");
        Assert.True(exit == ControlClient.ExitUnreachable, $"exit {exit} with no reply, expected 2");
        Assert.True(_stderr.ToString().StartsWith($"eventd: the daemon at {_dir.Socket} closed the connection", StringComparison.Ordinal), $"stderr: {_stderr}");
    }

    [Fact]
    public void DaemonThatNeverAnswers_Exits2_OnceTheReplyTimeoutPasses()
    {
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(_dir.Socket));
        listener.Listen(1);
        Task<Socket> accepted = listener.AcceptAsync();

        int exit = ControlClient.Run("stats", _dir.Socket, _stdout, _stderr, TimeSpan.FromSeconds(1));

        using Socket held = accepted.Wait(RawClient.Deadline) ? accepted.Result : throw new TimeoutException("the fake daemon never accepted");
        Assert.True(exit == ControlClient.ExitUnreachable, $"exit {exit} when the daemon never answers, expected 2");
        Assert.True(_stderr.ToString() == $"eventd: the daemon at {_dir.Socket} did not answer 'stats' within 1 s\n", $"stderr: {_stderr}");
    }

    [Fact]
    public void CommandWithNewline_IsRefusedBeforeConnecting_AndExits1()
    {
        int exit = ControlClient.Run("stats\ndrain", _dir.Socket, _stdout, _stderr);

        Assert.True(exit == ControlClient.ExitCommandFailed, $"exit {exit} for a two-line command, expected 1");
        Assert.True(_stderr.ToString().StartsWith("eventd: ", StringComparison.Ordinal) && _stderr.ToString().Count(c => c == '\n') == 1, $"stderr: {_stderr}");
        Assert.True(_target.Drains == 0, "the second line reached the daemon");
    }
}
