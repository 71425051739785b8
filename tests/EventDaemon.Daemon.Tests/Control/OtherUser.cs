using System.Diagnostics;
using System.Globalization;
using EventDaemon.Daemon.Tests.Integration.Support;

namespace EventDaemon.Daemon.Tests.Control;

/// <summary>
/// <c>eventdtest</c>, a local user that is neither root nor the test's, created (without a home) the
/// first time a test needs one: the impostor that binds its own listener where the daemon's socket
/// should be. Tests run as root here, which both useradd and setpriv need.
/// </summary>
internal static class OtherUser
{
    public const string Name = "eventdtest";

    private static readonly Lazy<(uint Uid, uint Gid)> Ids = new(Ensure, LazyThreadSafetyMode.ExecutionAndPublication);

    public static uint Uid => Ids.Value.Uid;

    public static uint Gid => Ids.Value.Gid;

    /// <summary>setpriv's arguments to run a command as this user with no supplementary groups.</summary>
    public static string[] SetPriv =>
    [
        "--reuid=" + Uid.ToString(CultureInfo.InvariantCulture),
        "--regid=" + Gid.ToString(CultureInfo.InvariantCulture),
        "--clear-groups",
    ];

    /// <summary>Gives <paramref name="path"/> to this user (chown, not following a link).</summary>
    public static void Own(string path) => Run("chown", "-h", $"{Uid}:{Gid}", path);

    private static (uint, uint) Ensure()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            throw new InvalidOperationException("these tests create a user and run processes as that user, which needs root");
        }

        if (TryIds() is { } ids)
        {
            return ids;
        }

        // Another test process may create it at the same moment; whoever loses sees it exist.
        Tool.Run("useradd", "", "-M", "-r", "-s", "/usr/sbin/nologin", Name);
        return TryIds() ?? throw new InvalidOperationException($"could not create the user {Name} with useradd");
    }

    private static (uint, uint)? TryIds()
    {
        (int uidExit, string uid, _) = Tool.Run("id", "", "-u", Name);
        (int gidExit, string gid, _) = Tool.Run("id", "", "-g", Name);
        return uidExit == 0 && gidExit == 0
            ? (uint.Parse(uid.Trim(), CultureInfo.InvariantCulture), uint.Parse(gid.Trim(), CultureInfo.InvariantCulture))
            : null;
    }

    private static void Run(string tool, params string[] arguments)
    {
        (int exit, _, string stderr) = Tool.Run(tool, "", arguments);
        if (exit != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} exited {exit}: {stderr}");
        }
    }
}

/// <summary>
/// Another user's process listening on a Unix socket path and answering every connection with a
/// fake <c>stats</c> reply: what an impostor who replaced the daemon's socket would run.
/// </summary>
internal sealed class ImpostorListener : IDisposable
{
    /// <summary>The counter the impostor makes up: seeing it printed means the client believed it.</summary>
    public const string FakeReply = "events_received_total 424242";

    private readonly Process _process;

    private ImpostorListener(Process process, string path)
    {
        _process = process;
        Path = path;
    }

    public string Path { get; }

    /// <summary>Starts socat as <see cref="OtherUser"/> on <paramref name="path"/> (mode 0666) and waits until it listens.</summary>
    public static ImpostorListener Start(string path)
    {
        var start = new ProcessStartInfo("setpriv")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in OtherUser.SetPriv)
        {
            start.ArgumentList.Add(argument);
        }

        start.ArgumentList.Add("socat");

        // socat closes half a second after the client's end of input unless told to wait; the
        // shell running echo may take longer than that to start on a loaded machine.
        start.ArgumentList.Add("-t");
        start.ArgumentList.Add("30");
        start.ArgumentList.Add($"UNIX-LISTEN:{path},fork,mode=666");

        // Reads the command line before answering: a reply that does not wait for it races
        // socat's write of the line into a shell already gone (EPIPE), which loses the reply.
        start.ArgumentList.Add($"SYSTEM:read line; echo {FakeReply}");
        Process process = Process.Start(start) ?? throw new InvalidOperationException("could not start socat as the other user");
        var impostor = new ImpostorListener(process, path);
        try
        {
            Eventually.True(() => File.Exists(path) || process.HasExited, () => $"the impostor never bound {path}");
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the impostor's socat exited {process.ExitCode}: {process.StandardError.ReadToEnd()}");
            }
        }
        catch
        {
            impostor.Dispose();
            throw;
        }

        return impostor;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(RawClient.Deadline);
        }

        _process.Dispose();
    }
}
