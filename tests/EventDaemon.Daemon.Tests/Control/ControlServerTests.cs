using System.Net.Sockets;
using System.Text.Json;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Control;
using Xunit;

namespace EventDaemon.Daemon.Tests.Control;

public sealed class ControlServerTests : IDisposable
{
    private const UnixFileMode Mode0660 =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;

    private const UnixFileMode Mode0750 =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;

    /// <summary>The uid and gid of "nobody" on Debian: a user that is neither root nor the test's.</summary>
    private const string Nobody = "65534";

    private readonly TempDirectory _dir = new();
    private readonly FakeControlTarget _target = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string, string> CommandsAndReplies => new()
    {
        { "stats", SampleFamilies.BasicText },
        { "info", "version 1.2.3\npid 42\n" },
        { "health", "ok\n" },
        { "latency", "stage     p50  p99\nper_user  1us  5us\n" },
        { "errors", "in: not_an_object: line 3\n" },
        { "config", "[daemon]\nring_size = 1024\n" },
        { "reload", "ok: reloaded\n" },
        { "drain", "ok: draining\n" },
        { "help", ControlCommands.HelpText },
    };

    [Theory]
    [MemberData(nameof(CommandsAndReplies))]
    public void Command_OverUnixSocket_RepliesWithTargetAnswer(string command, string expected)
    {
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);
        string reply = RawClient.Command(server.SocketPath, command);
        Assert.True(reply == expected, $"'{command}' replied:\n{reply}\nexpected:\n{expected}");
    }

    [Theory]
    [MemberData(nameof(CommandsAndReplies))]
    public void Command_ThroughSocat_RepliesWithTargetAnswer(string command, string expected)
    {
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);
        (int exit, string stdout, string stderr) = Tool.Socat(server.SocketPath, command);
        Assert.True(exit == 0, $"socat exited {exit}: {stderr}");
        Assert.True(stdout == expected, $"'{command}' through socat replied:\n{stdout}\nexpected:\n{expected}");
    }

    [Fact]
    public void StatsJson_RepliesOneJsonObject()
    {
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);
        string reply = RawClient.Command(server.SocketPath, "stats json");
        Assert.True(reply.EndsWith('\n'), "the reply must end with a newline");
        using JsonDocument json = JsonDocument.Parse(reply);
        Assert.True(json.RootElement.GetProperty("ring_capacity").GetInt64() == 65536, $"stats json lacks ring_capacity: {reply}");
    }

    [Fact]
    public void Metrics_RepliesPrometheusExposition()
    {
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);
        string reply = RawClient.Command(server.SocketPath, "metrics");
        Assert.True(reply.StartsWith("# HELP eventd_build_info ", StringComparison.Ordinal), $"metrics reply should start with eventd_build_info:\n{reply}");
        Assert.True(reply.Contains("# HELP eventd_uptime_seconds Seconds since start.\n# TYPE eventd_uptime_seconds gauge\neventd_uptime_seconds 12.5\n", StringComparison.Ordinal), $"metrics reply:\n{reply}");
        Assert.True(reply.Contains("# TYPE eventd_events_received_total counter\n", StringComparison.Ordinal), $"metrics reply lacks a TYPE line:\n{reply}");
    }

    [Theory]
    [InlineData("stats\r\n")]
    [InlineData("stats")]
    [InlineData("  stats  \n")]
    [InlineData("stats\nhelp\n")]
    public void CommandLine_EndedByLfCrLfOrEof_IsUnderstood(string sent)
    {
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);
        string reply = RawClient.Send(server.SocketPath, sent);
        Assert.True(reply == SampleFamilies.BasicText, $"'{sent.ReplaceLineEndings("\\n")}' replied:\n{reply}");
    }

    [Fact]
    public void StatsJson_WithExtraBlanksBetweenWords_IsUnderstood()
    {
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);
        string reply = RawClient.Command(server.SocketPath, "stats \t json");
        Assert.True(reply.StartsWith('{'), $"'stats  json' replied: {reply}");
    }

    [Fact]
    public void UnknownCommand_RepliesErrorNamingItWithHint()
    {
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);
        string reply = RawClient.Command(server.SocketPath, "statz");
        Assert.True(reply == "error: unknown command 'statz' (try help)\n", $"unknown command replied: {reply}");
    }

    [Fact]
    public void EmptyLine_RepliesError()
    {
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);
        string reply = RawClient.Command(server.SocketPath, "");
        Assert.True(reply.StartsWith("error:", StringComparison.Ordinal), $"empty line replied: {reply}");
    }

    [Fact]
    public void CommandLongerThan4KiB_RepliesError_AndServerKeepsServing()
    {
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);
        using (Socket socket = RawClient.Connect(server.SocketPath))
        {
            socket.Send(Enumerable.Repeat((byte)'a', ControlServer.MaxCommandBytes + 100).ToArray());
            string reply = RawClient.ReadToEnd(socket);
            Assert.True(reply.StartsWith("error: command longer than 4096 bytes", StringComparison.Ordinal), $"long line replied: {reply}");
        }

        Assert.True(RawClient.Command(server.SocketPath, "health") == "ok\n", "server stopped answering after a long line");
    }

    [Fact]
    public void TargetThatThrows_RepliesErrorWithItsMessage_AndServerKeepsServing()
    {
        _target.Metrics = () => throw new InvalidOperationException("metrics registry is being rebuilt");
        _target.HealthText = () => throw new IOException("sink status unavailable");
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);

        string stats = RawClient.Command(server.SocketPath, "stats");
        Assert.True(stats == "error: metrics registry is being rebuilt\n", $"failing stats replied: {stats}");
        string health = RawClient.Command(server.SocketPath, "health");
        Assert.True(health == "error: sink status unavailable\n", $"failing health replied: {health}");
        Assert.True(RawClient.Command(server.SocketPath, "info").StartsWith("version", StringComparison.Ordinal), "server stopped answering after target failures");
    }

    [Fact]
    public void ReloadRejected_ReplyFirstLineStartsWithError_AndKeepsTheDetail()
    {
        _target.ReloadReply = () => new ControlReply(false, "eventd.toml:3:7: unknown key 'rnig_size'\neventd.toml:9:1: missing input 'x'");
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);
        string reply = RawClient.Command(server.SocketPath, "reload");
        Assert.True(
            reply == "error: eventd.toml:3:7: unknown key 'rnig_size'\neventd.toml:9:1: missing input 'x'\n",
            $"rejected reload replied:\n{reply}");
    }

    [Fact]
    public void FailedReplyThatAlreadySaysError_IsNotPrefixedTwice()
    {
        _target.DrainReply = () => new ControlReply(false, "error: already draining");
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);
        string reply = RawClient.Command(server.SocketPath, "drain");
        Assert.True(reply == "error: already draining\n", $"failed drain replied: {reply}");
    }

    [Fact]
    public void ReloadAndDrain_FromTheDaemonsOwnUser_ReachTheTarget()
    {
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);
        Assert.True(RawClient.Command(server.SocketPath, "reload") == "ok: reloaded\n", "reload by the daemon's user was not served");
        Assert.True(RawClient.Command(server.SocketPath, "drain") == "ok: draining\n", "drain by the daemon's user was not served");
        Assert.True(_target.Reloads == 1 && _target.Drains == 1, $"target saw {_target.Reloads} reloads and {_target.Drains} drains, expected 1 each");
    }

    [Theory]
    [InlineData("reload")]
    [InlineData("drain")]
    public void StateChangingCommand_FromAnotherUser_IsRefused_AndTargetIsNotCalled(string command)
    {
        Assert.True(Environment.IsPrivilegedProcess, "this test runs the client as another user with setpriv, which needs root");
        using ControlServer server = StartReachableByEveryone();

        (int exit, string stdout, string stderr) = Tool.Socat(server.SocketPath, command, AsNobody());
        Assert.True(exit == 0, $"socat as uid {Nobody} exited {exit}: {stderr}");
        string expected = $"error: permission denied: '{command}' needs root or uid {DefaultPaths.CurrentUserId}\n";
        Assert.True(stdout == expected, $"'{command}' from uid {Nobody} replied: {stdout}");
        Assert.True(_target.Reloads == 0 && _target.Drains == 0, $"refused command reached the target ({_target.Reloads} reloads, {_target.Drains} drains)");
    }

    [Fact]
    public void ReadOnlyCommand_FromAnotherUser_IsServed()
    {
        Assert.True(Environment.IsPrivilegedProcess, "this test runs the client as another user with setpriv, which needs root");
        using ControlServer server = StartReachableByEveryone();

        (int exit, string stdout, string stderr) = Tool.Socat(server.SocketPath, "stats", AsNobody());
        Assert.True(exit == 0, $"socat as uid {Nobody} exited {exit}: {stderr}");
        Assert.True(stdout == SampleFamilies.BasicText, $"stats from uid {Nobody} replied: {stdout}");
    }

    [Fact]
    public void ClientThatSendsNothing_GetsTimeoutError_WhileOthersAreServed()
    {
        using ControlServer server = ControlServer.Start(_dir.Socket, _target, readDeadline: TimeSpan.FromSeconds(1));
        using Socket silent = RawClient.Connect(server.SocketPath);

        Assert.True(RawClient.Command(server.SocketPath, "health") == "ok\n", "a silent client blocked another client");

        string reply = RawClient.ReadToEnd(silent);
        Assert.True(reply == "error: no command received within 1 s (try help)\n", $"silent client got: {reply}");
    }

    [Fact]
    public void ClientsThatDisconnectEarly_DoNotStopTheServer()
    {
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);
        for (int i = 0; i < 20; i++)
        {
            // Connects and leaves without a word.
            RawClient.Connect(server.SocketPath).Dispose();

            // Sends a command and leaves before the reply.
            using (Socket socket = RawClient.Connect(server.SocketPath))
            {
                socket.Send("stats json\n"u8.ToArray());
            }

            // Sends half a command and leaves.
            using (Socket socket = RawClient.Connect(server.SocketPath))
            {
                socket.Send("sta"u8.ToArray());
            }
        }

        Assert.True(RawClient.Command(server.SocketPath, "health") == "ok\n", "server stopped answering after clients left early");
    }

    [Fact]
    public void Start_CreatesMissingDirectoryWithMode0750_AndSocketWithMode0660()
    {
        string socketPath = Path.Combine(_dir.Path, "run", "eventd", "eventd.sock");
        using ControlServer server = ControlServer.Start(socketPath, _target);

        UnixFileMode directoryMode = File.GetUnixFileMode(Path.GetDirectoryName(socketPath)!);
        Assert.True(directoryMode == Mode0750, $"socket directory created with mode {directoryMode}, expected 0750");
        UnixFileMode socketMode = File.GetUnixFileMode(socketPath);
        Assert.True(socketMode == Mode0660, $"socket file has mode {socketMode}, expected 0660");
        Assert.True(RawClient.Command(socketPath, "health") == "ok\n", "server in a created directory does not answer");
    }

    [Fact]
    public void Start_OverStaleSocketFile_ReplacesItAndServes()
    {
        StaleSocket.Create(_dir.Socket);

        Assert.True(File.Exists(_dir.Socket), "the stale socket file was not left behind by the setup");
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);
        Assert.True(RawClient.Command(_dir.Socket, "health") == "ok\n", "server over a stale socket file does not answer");
    }

    [Fact]
    public void Start_WhileAnotherServerAnswers_FailsNamingThePath_AndLeavesItServing()
    {
        using ControlServer first = ControlServer.Start(_dir.Socket, _target);

        ControlSocketException? refused = null;
        try
        {
            using ControlServer second = ControlServer.Start(_dir.Socket, new FakeControlTarget());
        }
        catch (ControlSocketException e)
        {
            refused = e;
        }

        Assert.True(refused is not null, "a second server started on a live socket");
        Assert.True(
            refused!.Message.StartsWith($"another eventd is running on {_dir.Socket}", StringComparison.Ordinal),
            $"refusal message: {refused.Message}");
        Assert.True(RawClient.Command(_dir.Socket, "health") == "ok\n", "the first server stopped answering after the refused start");
    }

    [Fact]
    public void Start_OverRegularFile_FailsAndLeavesTheFile()
    {
        File.WriteAllText(_dir.Socket, "precious");
        ControlSocketException error = Assert.Throws<ControlSocketException>(() => ControlServer.Start(_dir.Socket, _target));
        Assert.True(error.Message.Contains("is not a socket", StringComparison.Ordinal), $"message: {error.Message}");
        Assert.True(File.ReadAllText(_dir.Socket) == "precious", "a regular file at the socket path was touched");
    }

    [Fact]
    public void Start_WithPathLongerThanSunPath_FailsWithOneLine()
    {
        string path = Path.Combine(_dir.Path, new string('x', 120));
        ControlSocketException error = Assert.Throws<ControlSocketException>(() => ControlServer.Start(path, _target));
        Assert.True(error.Message.Contains("is too long", StringComparison.Ordinal) && !error.Message.Contains('\n'), $"message: {error.Message}");
    }

    [Fact]
    public void Start_InUnwritableDirectory_FailsWithOneLineNamingThePath()
    {
        string file = Path.Combine(_dir.Path, "not-a-directory");
        File.WriteAllText(file, "");
        string path = Path.Combine(file, "eventd.sock");
        ControlSocketException error = Assert.Throws<ControlSocketException>(() => ControlServer.Start(path, _target));
        Assert.True(error.Message.Contains(file, StringComparison.Ordinal) && !error.Message.Contains('\n'), $"message: {error.Message}");
    }

    [Fact]
    public void Dispose_StopsAccepting_AndDeletesTheSocketFile()
    {
        ControlServer server = ControlServer.Start(_dir.Socket, _target);
        server.Dispose();

        Assert.True(!File.Exists(_dir.Socket), "the socket file is still there after Dispose");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        Assert.Throws<SocketException>(() => socket.Connect(new UnixDomainSocketEndPoint(_dir.Socket)));
    }

    [Fact]
    public void Dispose_AfterAnotherServerTookThePath_LeavesItsSocket()
    {
        ControlServer first = ControlServer.Start(_dir.Socket, _target);
        File.Delete(_dir.Socket);
        using ControlServer second = ControlServer.Start(_dir.Socket, _target);

        first.Dispose();

        Assert.True(File.Exists(_dir.Socket), "disposing the first server deleted the second server's socket");
        Assert.True(RawClient.Command(_dir.Socket, "health") == "ok\n", "the second server stopped answering");
    }

    [Fact]
    public void Dispose_Twice_IsHarmless()
    {
        ControlServer server = ControlServer.Start(_dir.Socket, _target);
        server.Dispose();
        server.Dispose();
        Assert.True(!File.Exists(_dir.Socket), "the socket file is still there after Dispose");
    }

    private static string[] AsNobody() => ["--reuid=" + Nobody, "--regid=" + Nobody, "--clear-groups"];

    /// <summary>
    /// A server whose socket another user may reach (a 0755 directory, so others may enter but not
    /// change it; a 0666 socket), so the peer check is what refuses.
    /// </summary>
    private ControlServer StartReachableByEveryone()
    {
        File.SetUnixFileMode(_dir.Path, (UnixFileMode)0x1ED); // 0755
        ControlServer server = ControlServer.Start(_dir.Socket, _target);
        File.SetUnixFileMode(_dir.Socket, (UnixFileMode)0x1B6); // 0666
        return server;
    }
}
