using EventDaemon.Daemon.Config;
using Xunit;

namespace EventDaemon.Daemon.Tests.Config;

public sealed class DefaultPathsTests
{
    private static Func<string, string?> Environment(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void ControlSocket_PrefersTheSystemdRuntimeDirectory()
    {
        string path = DefaultPaths.ControlSocket(Environment(("RUNTIME_DIRECTORY", "/run/eventd"), ("XDG_RUNTIME_DIR", "/run/user/1000")), 1000);

        ConfigTesting.Equal("/run/eventd/eventd.sock", path, "socket under RuntimeDirectory=");
    }

    [Fact]
    public void ControlSocket_TakesTheFirstOfSeveralRuntimeDirectories()
    {
        string path = DefaultPaths.ControlSocket(Environment(("RUNTIME_DIRECTORY", "/run/eventd:/run/eventd-extra")), 0);

        ConfigTesting.Equal("/run/eventd/eventd.sock", path, "socket under the first RuntimeDirectory=");
    }

    [Fact]
    public void ControlSocket_FallsBackToXdgRuntimeDir()
    {
        string path = DefaultPaths.ControlSocket(Environment(("XDG_RUNTIME_DIR", "/run/user/1000")), 1000);

        ConfigTesting.Equal("/run/user/1000/eventd/eventd.sock", path, "socket under XDG_RUNTIME_DIR");
    }

    [Fact]
    public void ControlSocket_FallsBackToAPerUserTmpDirectory()
    {
        string path = DefaultPaths.ControlSocket(Environment(("XDG_RUNTIME_DIR", "relative/ignored")), 1234);

        ConfigTesting.Equal("/tmp/eventd-1234/eventd.sock", path, "socket in /tmp for uid 1234");
    }

    [Fact]
    public void StateDirectory_FollowsSystemdThenRootThenXdg()
    {
        ConfigTesting.Equal("/var/lib/private/eventd", DefaultPaths.StateDirectory(Environment(("STATE_DIRECTORY", "/var/lib/private/eventd")), 0), "StateDirectory=");
        ConfigTesting.Equal("/var/lib/eventd", DefaultPaths.StateDirectory(Environment(("HOME", "/root")), 0), "root outside systemd");
        ConfigTesting.Equal("/home/u/.state/eventd", DefaultPaths.StateDirectory(Environment(("XDG_STATE_HOME", "/home/u/.state"), ("HOME", "/home/u")), 1000), "XDG_STATE_HOME");
        ConfigTesting.Equal("/home/u/.local/state/eventd", DefaultPaths.StateDirectory(Environment(("HOME", "/home/u")), 1000), "XDG default under HOME");
        ConfigTesting.Equal("/tmp/eventd-1000/state", DefaultPaths.StateDirectory(Environment(), 1000), "no HOME at all");
    }

    [Fact]
    public void CurrentUserId_IsTheProcessesUid()
    {
        string? status = File.ReadLines("/proc/self/status").FirstOrDefault(line => line.StartsWith("Uid:", StringComparison.Ordinal));
        Assert.True(status is not null, "/proc/self/status has no Uid line");
        uint expected = uint.Parse(status.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);

        ConfigTesting.Equal(expected, DefaultPaths.CurrentUserId, "getuid()");
    }
}
