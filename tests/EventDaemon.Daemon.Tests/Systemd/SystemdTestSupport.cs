using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Xunit;

namespace EventDaemon.Daemon.Tests.Systemd;

/// <summary>Stands in for systemd's notification socket: a bound AF_UNIX datagram socket.</summary>
internal sealed class DatagramReceiver : IDisposable
{
    private readonly Socket _socket;
    private readonly string? _directory;

    private DatagramReceiver(string notifySocket, string endPoint, string? directory)
    {
        NotifySocket = notifySocket;
        _directory = directory;
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _socket.Bind(new UnixDomainSocketEndPoint(endPoint));
    }

    /// <summary>What <c>$NOTIFY_SOCKET</c> would hold for this socket.</summary>
    public string NotifySocket { get; }

    public static DatagramReceiver AtPath()
    {
        string directory = Directory.CreateTempSubdirectory("eventd-notify-").FullName;
        string path = Path.Combine(directory, "notify");
        return new DatagramReceiver(path, path, directory);
    }

    public static DatagramReceiver AtAbstractName()
    {
        string name = $"eventd-test-{Guid.NewGuid():N}";
        return new DatagramReceiver("@" + name, "\0" + name, null);
    }

    /// <summary>The next datagram, or <c>null</c> if none came before the deadline.</summary>
    public string? Receive(TimeSpan timeout)
    {
        if (!_socket.Poll((int)timeout.TotalMicroseconds, SelectMode.SelectRead))
        {
            return null;
        }

        byte[] buffer = new byte[8192];
        int n = _socket.Receive(buffer);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    /// <summary>Datagrams already queued, without waiting.</summary>
    public List<string> Pending()
    {
        var all = new List<string>();
        while (Receive(TimeSpan.Zero) is { } datagram)
        {
            all.Add(datagram);
        }

        return all;
    }

    public void Dispose()
    {
        _socket.Dispose();
        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}

internal static class Wait
{
    /// <summary>Polls <paramref name="condition"/> until it holds or the deadline passes; no blind sleeps.</summary>
    public static bool Until(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                return false;
            }

            Thread.Sleep(1);
        }

        return true;
    }
}

internal static class Repository
{
    /// <summary>The checkout the tests were built from (the directory holding EventDaemon.sln).</summary>
    public static string Root { get; } = FindRoot();

    public static string File(string relative) => Path.Combine(Root, relative);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(directory.FullName, "EventDaemon.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no EventDaemon.sln above {AppContext.BaseDirectory}");
    }
}

internal sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    public string Output => Stdout + Stderr;
}

internal static class Run
{
    /// <summary>Runs a program to completion (with a deadline) and captures both output streams.</summary>
    public static ProcessResult Program(string file, IEnumerable<string> arguments, IDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        using Process process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        TimeSpan limit = timeout ?? TimeSpan.FromSeconds(60);
        if (!process.WaitForExit(limit))
        {
            process.Kill();
            Assert.Fail($"{file} {string.Join(' ', arguments)} did not finish within {limit}");
        }

        process.WaitForExit();
        return new ProcessResult(process.ExitCode, stdout.Result, stderr.Result);
    }
}
