using EventDaemon.Daemon.Control;
using EventDaemon.Daemon.Control.Internal;
using Xunit;

namespace EventDaemon.Daemon.Tests.Control;

/// <summary>
/// The daemon refuses to serve from a directory another user could change (and so could replace
/// the socket in), and makes its per-user directory in /tmp itself, private.
/// </summary>
public sealed class ControlSocketDirectoryTests : IDisposable
{
    private const UnixFileMode Mode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private readonly TempDirectory _dir = new();
    private readonly FakeControlTarget _target = new();

    public ControlSocketDirectoryTests()
    {
        // The scratch directory itself is root's 0700; the cases below live in it, and another
        // user's processes must be able to enter it.
        File.SetUnixFileMode(_dir.Path, (UnixFileMode)0x1ED); // 0755
    }

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(0x1FF, "0777")]
    [InlineData(0x1FD, "0775")]
    [InlineData(0x1F8, "0770")]
    [InlineData(0x1EF, "0757")]
    public void Start_InADirectoryOthersCanWrite_IsRefusedWithOneLineNamingItAndItsMode(int mode, string octal)
    {
        string directory = Subdirectory("shared", mode);

        ControlSocketException error = Assert.Throws<ControlSocketException>(() => ControlServer.Start(Path.Combine(directory, "eventd.sock"), _target));

        Assert.True(
            error.Message.StartsWith($"control socket directory {directory} is writable by other users (mode {octal})", StringComparison.Ordinal),
            $"refusal for mode {octal}: {error.Message}");
        Assert.True(!error.Message.Contains('\n'), $"the refusal is not one line: {error.Message}");
        Assert.True(!File.Exists(Path.Combine(directory, "eventd.sock")), "a socket was left in the refused directory");
    }

    [Fact]
    public void Start_InADirectoryOwnedByAnotherUser_IsRefused_EvenIfOnlyThatUserCanWriteIt()
    {
        string directory = Subdirectory("theirs", 0x1ED); // 0755
        OtherUser.Own(directory);

        ControlSocketException error = Assert.Throws<ControlSocketException>(() => ControlServer.Start(Path.Combine(directory, "eventd.sock"), _target));

        Assert.True(
            error.Message.StartsWith($"control socket directory {directory} is owned by uid {OtherUser.Uid}, not by the daemon's user (uid 0)", StringComparison.Ordinal),
            $"refusal: {error.Message}");
    }

    [Fact]
    public void Start_InASymlinkToAGoodDirectory_IsRefused()
    {
        string real = Subdirectory("real", 0x1ED);
        string link = Path.Combine(_dir.Path, "link");
        File.CreateSymbolicLink(link, real);

        ControlSocketException error = Assert.Throws<ControlSocketException>(() => ControlServer.Start(Path.Combine(link, "eventd.sock"), _target));

        Assert.True(error.Message.StartsWith($"control socket directory {link} is a symbolic link", StringComparison.Ordinal), $"refusal: {error.Message}");
    }

    [Fact]
    public void Start_InARuntimeDirectoryOwnedByTheDaemonsUser_Mode0755_Serves()
    {
        // systemd's RuntimeDirectory=eventd: /run/eventd, owned by the service's user, 0755.
        string directory = Subdirectory("run-eventd", 0x1ED);
        using ControlServer server = ControlServer.Start(Path.Combine(directory, "eventd.sock"), _target);
        Assert.True(RawClient.Command(server.SocketPath, "health") == "ok\n", "a server in a 0755 directory of its own does not answer");
    }

    [Fact]
    public void Start_InAStickyDirectoryOwnedByRoot_Serves_BecauseOthersCannotRemoveOurSocket()
    {
        // Like /tmp itself: mode 1777, root's.
        string directory = Subdirectory("sticky", 0x3FF);
        using ControlServer server = ControlServer.Start(Path.Combine(directory, "eventd.sock"), _target);
        Assert.True(RawClient.Command(server.SocketPath, "health") == "ok\n", "a server in a sticky root directory does not answer");
    }

    [Fact]
    public void Start_OverASocketAnotherUserOwns_IsRefused_AndLeavesIt()
    {
        string directory = Subdirectory("sticky", 0x3FF);
        string path = Path.Combine(directory, "eventd.sock");
        using ImpostorListener impostor = ImpostorListener.Start(path);

        ControlSocketException error = Assert.Throws<ControlSocketException>(() => ControlServer.Start(path, _target));

        Assert.True(error.Message.StartsWith($"{path} is a socket owned by uid {OtherUser.Uid}", StringComparison.Ordinal), $"refusal: {error.Message}");
        Assert.True(File.Exists(path), "the other user's socket was removed");
    }

    [Fact]
    public void PerUserTemp_WhenMissing_IsCreatedWithMode0700()
    {
        string directory = Path.Combine(_dir.Path, "eventd-0");

        SocketDirectory.Prepare(directory, 0, perUserTemp: true);

        UnixFileMode mode = File.GetUnixFileMode(directory);
        Assert.True(mode == Mode0700, $"the per-user directory was created with mode {mode}, expected 0700");
    }

    [Fact]
    public void PerUserTemp_PreCreatedByAnotherUserWithMode0777_IsRefused()
    {
        string directory = Subdirectory("eventd-0", 0x1FF);
        OtherUser.Own(directory);

        ControlSocketException error = Assert.Throws<ControlSocketException>(() => SocketDirectory.Prepare(directory, 0, perUserTemp: true));

        Assert.True(
            error.Message.StartsWith($"control socket directory {directory} is owned by uid {OtherUser.Uid}, not by the daemon's user (uid 0)", StringComparison.Ordinal)
            && error.Message.Contains("remove it and eventd creates it (mode 0700)", StringComparison.Ordinal),
            $"refusal: {error.Message}");
    }

    [Fact]
    public void PerUserTemp_OwnButWritableByOthers_IsRefused_EvenWithTheStickyBit()
    {
        string directory = Subdirectory("eventd-0", 0x3FF);
        ControlSocketException error = Assert.Throws<ControlSocketException>(() => SocketDirectory.Prepare(directory, 0, perUserTemp: true));
        Assert.True(error.Message.Contains("is writable by other users (mode 1777)", StringComparison.Ordinal), $"refusal: {error.Message}");
    }

    [Fact]
    public void PerUserTemp_AsASymlinkToAnOwnPrivateDirectory_IsRefused()
    {
        string real = Subdirectory("private", 0x1C0);
        string link = Path.Combine(_dir.Path, "eventd-0");
        File.CreateSymbolicLink(link, real);

        ControlSocketException error = Assert.Throws<ControlSocketException>(() => SocketDirectory.Prepare(link, 0, perUserTemp: true));

        Assert.True(error.Message.Contains("is a symbolic link", StringComparison.Ordinal), $"refusal: {error.Message}");
    }

    [Fact]
    public void PerUserTemp_OwnedByRootButNotTheDaemonsUser_IsRefused()
    {
        // A daemon running as another uid must own /tmp/eventd-UID itself; root's is not good enough
        // there, unlike a configured directory, because the name promises that user's.
        string directory = Subdirectory("eventd-1234", 0x1C0);
        ControlSocketException error = Assert.Throws<ControlSocketException>(() => SocketDirectory.Prepare(directory, 1234, perUserTemp: true));
        Assert.True(error.Message.Contains("is owned by uid 0, not by the daemon's user (uid 1234)", StringComparison.Ordinal), $"refusal: {error.Message}");
    }

    [Fact]
    public void IsPerUserTemp_RecognisesTheDefaultPathOfThatUidOnly()
    {
        Assert.True(SocketDirectory.IsPerUserTemp("/tmp/eventd-1000", 1000), "/tmp/eventd-1000 is uid 1000's per-user directory");
        Assert.False(SocketDirectory.IsPerUserTemp("/tmp/eventd-1000", 1001), "/tmp/eventd-1000 is not uid 1001's");
        Assert.False(SocketDirectory.IsPerUserTemp("/run/eventd", 1000), "/run/eventd is not a per-user temp directory");
    }

    private string Subdirectory(string name, int mode)
    {
        string path = Path.Combine(_dir.Path, name);
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, (UnixFileMode)mode);
        return path;
    }
}
