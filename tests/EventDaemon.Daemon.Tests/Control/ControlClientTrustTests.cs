using EventDaemon.Daemon.Control;
using Xunit;

namespace EventDaemon.Daemon.Tests.Control;

/// <summary>
/// The client believes a reply only from root, its own user, or the owner of a socket directory
/// no one else could have made: another user who replaced the socket is refused, with one line.
/// </summary>
public sealed class ControlClientTrustTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly StringWriter _stdout = new();
    private readonly StringWriter _stderr = new();

    public ControlClientTrustTests()
    {
        // Root's 0755: the other user may enter it, but not change it.
        File.SetUnixFileMode(_dir.Path, (UnixFileMode)0x1ED);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ImpostorInADirectoryItPreCreatedWithMode0777_IsRefused_AndItsReplyNotPrinted()
    {
        // What another user does to /tmp/eventd-0 before root's daemon starts.
        string directory = Subdirectory(_dir.Path, "eventd-0", 0x1FF);
        OtherUser.Own(directory);
        using ImpostorListener impostor = ImpostorListener.Start(Path.Combine(directory, "eventd.sock"));

        int exit = ControlClient.Run("stats", impostor.Path, _stdout, _stderr);

        AssertRefused(exit, impostor.Path);
    }

    [Fact]
    public void ImpostorInItsOwnPrivateDirectoryUnderAStickyDirectory_IsRefused()
    {
        // /tmp/eventd-0 made by another user with a tidy 0755: anyone can make a name in /tmp,
        // so owning the directory proves nothing there.
        string sticky = Subdirectory(_dir.Path, "tmp", 0x3FF);
        string directory = Subdirectory(sticky, "eventd-0", 0x1ED);
        OtherUser.Own(directory);
        using ImpostorListener impostor = ImpostorListener.Start(Path.Combine(directory, "eventd.sock"));

        int exit = ControlClient.Run("stats", impostor.Path, _stdout, _stderr);

        AssertRefused(exit, impostor.Path);
    }

    [Fact]
    public void DaemonUserOwningADirectoryOnlyRootCouldHaveMade_IsTrusted()
    {
        // systemd's RuntimeDirectory for a User=/DynamicUser= service: /run (root, 0755) holds
        // /run/eventd (the service's user, 0755); root's client believes that user.
        string directory = Subdirectory(_dir.Path, "run-eventd", 0x1ED);
        OtherUser.Own(directory);
        using ImpostorListener daemon = ImpostorListener.Start(Path.Combine(directory, "eventd.sock"));

        int exit = ControlClient.Run("stats", daemon.Path, _stdout, _stderr);

        Assert.True(exit == ControlClient.ExitOk, $"exit {exit}, stderr: {_stderr}");
        Assert.True(_stdout.ToString() == ImpostorListener.FakeReply + "\n", $"stdout: {_stdout}");
    }

    private void AssertRefused(int exit, string path)
    {
        Assert.True(exit == ControlClient.ExitUnreachable, $"exit {exit} for a socket served by another user, expected 2; stdout: {_stdout}");
        string expected = $"error: refusing the reply: the socket {path} is served by uid {OtherUser.Uid}, not root or uid 0\n";
        Assert.True(_stderr.ToString() == expected, $"stderr: {_stderr}");
        Assert.True(!_stdout.ToString().Contains("424242", StringComparison.Ordinal), $"the impostor's counter was printed: {_stdout}");
    }

    private static string Subdirectory(string parent, string name, int mode)
    {
        string path = Path.Combine(parent, name);
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, (UnixFileMode)mode);
        return path;
    }
}
