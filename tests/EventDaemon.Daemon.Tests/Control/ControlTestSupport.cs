using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using EventDaemon.Daemon.Control;
using EventDaemon.Daemon.Metrics;

namespace EventDaemon.Daemon.Tests.Control;

/// <summary>A control target whose answers the test sets, and which counts the state-changing calls.</summary>
internal sealed class FakeControlTarget : IControlTarget
{
    private int _reloads;
    private int _drains;

    public Func<IReadOnlyList<MetricFamily>> Metrics { get; set; } = SampleFamilies.Basic;

    public Func<string> InfoText { get; set; } = () => "version 1.2.3\npid 42\n";

    public Func<string> HealthText { get; set; } = () => "ok";

    public Func<string> LatencyText { get; set; } = () => "stage     p50  p99\nper_user  1us  5us\n";

    public Func<string> ErrorsText { get; set; } = () => "in: not_an_object: line 3\n";

    public Func<string> ConfigText { get; set; } = () => "[daemon]\nring_size = 1024\n";

    public Func<ControlReply> ReloadReply { get; set; } = () => new ControlReply(true, "ok: reloaded");

    public Func<ControlReply> DrainReply { get; set; } = () => new ControlReply(true, "ok: draining");

    public int Reloads => Volatile.Read(ref _reloads);

    public int Drains => Volatile.Read(ref _drains);

    public IReadOnlyList<MetricFamily> CollectMetrics() => Metrics();

    public string Info() => InfoText();

    public string Health() => HealthText();

    public string Latency() => LatencyText();

    public string Errors() => ErrorsText();

    public string Config() => ConfigText();

    public ControlReply Reload()
    {
        Interlocked.Increment(ref _reloads);
        return ReloadReply();
    }

    public ControlReply Drain()
    {
        Interlocked.Increment(ref _drains);
        return DrainReply();
    }
}

internal static class SampleFamilies
{
    public static IReadOnlyList<MetricFamily> Basic() =>
    [
        new MetricFamily("uptime_seconds", "gauge", "Seconds since start.").Add(12.5),
        new MetricFamily("events_received_total", "counter", "Events decoded and published to the ring.")
            .Add(1234, ("source", "in"))
            .Add(0, ("source", "udp")),
        new MetricFamily("events_invalid_total", "counter", "Malformed events skipped.")
            .Add(3, ("source", "in"), ("reason", "not_an_object")),
        new MetricFamily("events_dropped_total", "counter", "Events dropped."),
        new MetricFamily("latency_ns", "gauge", "Ingest to stage latency.")
            .Add(1500, ("stage", "per_user"), ("quantile", "0.5"))
            .Add(2.5e6, ("stage", "per_user"), ("quantile", "1")),
        new MetricFamily("ring_capacity", "gauge", "Slots.").Add(65536),
    ];

    /// <summary>What <c>stats</c> prints for <see cref="Basic"/>.</summary>
    public const string BasicText =
        "uptime_seconds 12.5\n" +
        "events_received_total{source=\"in\"} 1234\n" +
        "events_received_total{source=\"udp\"} 0\n" +
        "events_invalid_total{source=\"in\",reason=\"not_an_object\"} 3\n" +
        "latency_ns{stage=\"per_user\",quantile=\"0.5\"} 1500\n" +
        "latency_ns{stage=\"per_user\",quantile=\"1\"} 2500000\n" +
        "ring_capacity 65536\n";
}

/// <summary>A private directory under /tmp (short enough for sun_path), removed with everything in it.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = Directory.CreateTempSubdirectory("eventd-ctl-").FullName;
    }

    public string Path { get; }

    public string Socket => System.IO.Path.Combine(Path, "eventd.sock");

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static class StaleSocket
{
    /// <summary>
    /// Leaves a socket file nobody listens on, as a daemon killed with -9 does. The runtime unlinks
    /// a path it bound when the socket is disposed, so the socket is bound under a scratch name and
    /// the file moved to <paramref name="path"/> first.
    /// </summary>
    public static void Create(string path)
    {
        string scratch = path + ".bind";
        using var dead = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        dead.Bind(new UnixDomainSocketEndPoint(scratch));
        File.Move(scratch, path);
    }
}

/// <summary>Talks to a control socket the way a script would, with deadlines on everything.</summary>
internal static class RawClient
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>Sends <paramref name="bytes"/> as they are, half-closes, returns everything until the server closes.</summary>
    public static string Send(string socketPath, string bytes)
    {
        using Socket socket = Connect(socketPath);
        socket.Send(Encoding.UTF8.GetBytes(bytes));
        socket.Shutdown(SocketShutdown.Send);
        return ReadToEnd(socket);
    }

    /// <summary>One command line, terminated by <c>\n</c>.</summary>
    public static string Command(string socketPath, string command) => Send(socketPath, command + "\n");

    public static Socket Connect(string socketPath)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        socket.ReceiveTimeout = (int)Deadline.TotalMilliseconds;
        socket.SendTimeout = (int)Deadline.TotalMilliseconds;
        return socket;
    }

    /// <summary>
    /// Everything until the server closes. A server that closes with some of our input unread
    /// resets the connection after its reply; the reply read before the reset is complete.
    /// </summary>
    public static string ReadToEnd(Socket socket)
    {
        var reply = new MemoryStream();
        byte[] buffer = new byte[8192];
        try
        {
            int received;
            while ((received = socket.Receive(buffer)) > 0)
            {
                reply.Write(buffer, 0, received);
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset && reply.Length > 0)
        {
        }

        return Encoding.UTF8.GetString(reply.ToArray());
    }

    /// <summary>
    /// Waits, without reading, until the server has closed its end: poll reports POLLHUP whatever
    /// is still unread, so a reply the server gave up on stays in the socket for the test to measure.
    /// </summary>
    public static unsafe bool WaitForServerClose(Socket socket, TimeSpan timeout)
    {
        var pollFd = new EventDaemon.Daemon.Interop.Libc.PollFd { Fd = (int)socket.SafeHandle.DangerousGetHandle(), Events = 0 };
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (Environment.TickCount64 < deadline)
        {
            int ready = EventDaemon.Daemon.Interop.Libc.poll(&pollFd, 1, (int)Math.Max(1, deadline - Environment.TickCount64));
            if (ready > 0 && (pollFd.ReturnedEvents & EventDaemon.Daemon.Interop.Libc.PollHup) != 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Everything until the server closes or resets the connection, however little that is.</summary>
    public static string ReadToEndAllowingReset(Socket socket)
    {
        var reply = new MemoryStream();
        byte[] buffer = new byte[64 * 1024];
        try
        {
            int received;
            while ((received = socket.Receive(buffer)) > 0)
            {
                reply.Write(buffer, 0, received);
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
        }

        return Encoding.UTF8.GetString(reply.ToArray());
    }
}

/// <summary>Runs a command-line tool with stdin, and waits for it with a deadline.</summary>
internal static class Tool
{
    public static (int ExitCode, string Stdout, string Stderr) Run(string fileName, string stdin, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        if (!process.WaitForExit(RawClient.Deadline))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish within {RawClient.Deadline}");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// <c>echo COMMAND | socat - UNIX-CONNECT:PATH</c>, as the SPEC shows it. <c>-t</c> lets socat
    /// wait for the reply after its stdin ends (its default is half a second, which a loaded
    /// machine can miss); the server closes after replying, so socat exits at once anyway.
    /// </summary>
    public static (int ExitCode, string Stdout, string Stderr) Socat(string socketPath, string command, params string[] asUser)
    {
        string[] socat = ["-t", "30", "-", "UNIX-CONNECT:" + socketPath];
        return asUser.Length == 0
            ? Run("socat", command + "\n", socat)
            : Run("setpriv", command + "\n", [.. asUser, "socat", .. socat]);
    }
}
