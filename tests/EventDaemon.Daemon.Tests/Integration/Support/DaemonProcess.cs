using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration.Support;

/// <summary>
/// <c>eventd run --config</c> of the published binary as a child process: writes the config into a
/// private directory, starts the daemon with <c>$NOTIFY_SOCKET</c> pointing at a listener of its
/// own, and counts it ready at <c>READY=1</c> (sent once every source is bound and every consumer
/// runs). Captures stdout and stderr (written to the test's output at the end). Dispose sends
/// SIGTERM, waits for the exit, and kills with SIGKILL after a deadline.
/// </summary>
internal sealed class DaemonProcess : IDisposable
{
    /// <summary>Attempts when a chosen port was taken between the check and the daemon's bind.</summary>
    private const int StartAttempts = 3;

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(30);
    private static int _instances;

    private readonly ITestOutputHelper _output;
    private readonly Func<DaemonLayout, string> _topology;
    private readonly DaemonOptions _options;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private Process _process = null!;
    private bool _disposed;

    private DaemonProcess(ITestOutputHelper output, DaemonLayout layout, Func<DaemonLayout, string> topology, DaemonOptions options)
    {
        _output = output;
        Layout = layout;
        _topology = topology;
        _options = options;
    }

    public DaemonLayout Layout { get; private set; }

    public NotifyListener Notify { get; private set; } = null!;

    /// <summary>The index of the first <c>READY=1</c> among <see cref="Notify"/>'s messages.</summary>
    public int ReadyIndex { get; private set; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string ConfigPath => Layout.ConfigPath;

    public string ControlSocket => Layout.ControlSocket;

    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>
    /// Starts a daemon whose config is a <c>[daemon]</c> table from <paramref name="options"/> followed by
    /// <paramref name="topology"/> (sources, transforms and sinks, given the layout's paths and
    /// ports), and waits until it is ready.
    /// </summary>
    public static DaemonProcess Start(ITestOutputHelper output, Func<DaemonLayout, string> topology, DaemonOptions? options = null)
    {
        options ??= new DaemonOptions();
        string directory = CreateDirectory();
        for (int attempt = 1; ; attempt++)
        {
            var daemon = new DaemonProcess(output, new DaemonLayout(directory), topology, options);
            if (daemon.TryStart(out string? failure))
            {
                return daemon;
            }

            bool portTaken = failure.Contains("another process", StringComparison.Ordinal);
            daemon.Dispose(deleteDirectory: !portTaken || attempt == StartAttempts);
            if (!portTaken || attempt == StartAttempts)
            {
                Assert.Fail($"eventd did not become ready: {failure}");
            }

            output.WriteLine($"a port was taken before eventd could bind it; retrying with others ({failure.Trim()})");
        }
    }

    /// <summary>Rewrites the config file with another topology (same layout, so the same paths and ports).</summary>
    public void WriteConfig(Func<DaemonLayout, string> topology) => File.WriteAllText(ConfigPath, Render(topology));

    /// <summary>Sends one control command over the socket (as <c>socat</c> would) and returns the whole reply.</summary>
    public string Control(string command)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
        {
            ReceiveTimeout = 30_000,
            SendTimeout = 30_000,
        };
        socket.Connect(new UnixDomainSocketEndPoint(ControlSocket));
        TestSockets.SendAll(socket, command + "\n");
        var reply = new MemoryStream();
        byte[] buffer = new byte[16 * 1024];
        int n;
        while ((n = socket.Receive(buffer)) > 0)
        {
            reply.Write(buffer, 0, n);
        }

        return Encoding.UTF8.GetString(reply.ToArray());
    }

    public StatsSnapshot Stats() => new(Control("stats json"));

    /// <summary>Runs <c>eventd ARGS --socket CONTROL_SOCKET</c>.</summary>
    public CliResult Cli(params string[] args) => EventdBinary.Run([.. args, "--socket", ControlSocket]);

    public void Signal(int signal) => PosixSignal.Send(Pid, signal);

    /// <summary>Waits for the process to exit on its own; fails the test after <paramref name="timeout"/>.</summary>
    public int WaitForExit(TimeSpan? timeout = null)
    {
        TimeSpan wait = timeout ?? ExitTimeout;
        if (!_process.WaitForExit(wait))
        {
            Assert.Fail($"eventd (pid {Pid}) did not exit within {wait.TotalSeconds:0} s; stderr:\n{Stderr}");
        }

        _process.WaitForExit(); // flushes the redirected output
        return _process.ExitCode;
    }

    /// <summary>SIGKILL (nothing drained, nothing flushed by the daemon), then the same config
    /// started again in the same layout (same ports and paths); returns once it is ready.</summary>
    public void KillAndRestart()
    {
        _process.Kill();
        _process.WaitForExit();
        _output.WriteLine($"eventd pid {Pid} killed; stderr so far:\n{Stderr}");
        _process.Dispose();
        Notify.Dispose();
        if (!TryStart(out string failure))
        {
            Assert.Fail($"eventd did not become ready after a restart: {failure}");
        }
    }

    public void Dispose() => Dispose(deleteDirectory: true);

    private void Dispose(bool deleteDirectory)
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_process is not null)
        {
            if (!_process.HasExited)
            {
                try
                {
                    Signal(PosixSignal.SigTerm);
                }
                catch (InvalidOperationException)
                {
                    // Exited between the check and the signal.
                }

                if (!_process.WaitForExit(ExitTimeout))
                {
                    _output.WriteLine($"eventd (pid {Pid}) ignored SIGTERM for {ExitTimeout.TotalSeconds:0} s: killed");
                    _process.Kill();
                }
            }

            _process.WaitForExit();
            _output.WriteLine($"eventd pid {Pid} exit {_process.ExitCode}; stderr:\n{Stderr}");
            if (Stdout.Length > 0)
            {
                _output.WriteLine($"stdout:\n{Stdout}");
            }

            _process.Dispose();
        }

        Notify?.Dispose();
        if (deleteDirectory)
        {
            try
            {
                Directory.Delete(Layout.Directory, recursive: true);
            }
            catch (IOException)
            {
                // A socket file the daemon was still removing; the directory is in /tmp.
            }
        }
    }

    private static string CreateDirectory()
    {
        string path = Path.Combine(Path.GetTempPath(), $"edt-{Environment.ProcessId}-{Interlocked.Increment(ref _instances)}");
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }

        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
        return path;
    }

    private string Render(Func<DaemonLayout, string> topology) =>
        $"""
        [daemon]
        control_socket = "{ControlSocket}"
        ring_size = {_options.RingSize}
        arena_size = "{_options.ArenaSize}"
        {_options.DaemonSettings}

        {topology(Layout)}

        """;

    private bool TryStart(out string failure)
    {
        File.WriteAllText(ConfigPath, Render(_topology));
        string notifyPath = Layout.File("notify.sock");
        File.Delete(notifyPath);
        Notify = _options.AbstractNotifyName is { } name ? NotifyListener.Abstract(name) : NotifyListener.AtPath(notifyPath);

        var start = new ProcessStartInfo(EventdBinary.Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Layout.Directory,
        };
        start.ArgumentList.Add("run");
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(ConfigPath);

        // The test runner may itself run under systemd: nothing of its service may leak in.
        foreach (string inherited in new[] { "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "EVENTD_STALL_SECONDS", "RUNTIME_DIRECTORY" })
        {
            start.Environment.Remove(inherited);
        }

        start.Environment["NOTIFY_SOCKET"] = Notify.NotifySocket;
        foreach ((string key, string value) in _options.Environment)
        {
            start.Environment[key] = value;
        }

        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => Append(_stdout, e.Data);
        _process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        DateTime deadline = DateTime.UtcNow + ReadyTimeout;
        while (DateTime.UtcNow < deadline)
        {
            NotifyMessage? ready = Notify.TryWaitFor(m => m.Has("READY=1"), 0, TimeSpan.FromMilliseconds(100));
            if (ready is not null)
            {
                ReadyIndex = ready.Index;
                failure = "";
                return true;
            }

            if (_process.HasExited)
            {
                _process.WaitForExit();
                failure = $"exited with {_process.ExitCode} before READY=1; stderr:\n{Stderr}";
                return false;
            }
        }

        failure = $"no READY=1 within {ReadyTimeout.TotalSeconds:0} s; stderr:\n{Stderr}";
        return false;
    }

    private static void Append(StringBuilder text, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (text)
        {
            text.Append(line).Append('\n');
        }
    }
}
