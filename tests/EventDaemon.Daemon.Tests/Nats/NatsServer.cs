using System.Diagnostics;
using System.Net.Http;
using EventDaemon.Daemon.Tests.Integration.Support;

namespace EventDaemon.Daemon.Tests.Nats;

/// <summary>
/// A real <c>nats-server</c> (the Debian package) with JetStream, on free loopback ports with a
/// store directory of its own, started for a test and killed at its end. Ready means the
/// monitoring endpoint answers <c>/healthz?js-enabled-only=true</c>, polled with a deadline.
/// </summary>
/// <remarks>
/// <see cref="Restart"/> keeps the client port and the store, so a client reconnects to the same
/// address and finds its streams again: the shape of a server restarted by its supervisor.
/// </remarks>
public sealed class NatsServer : IDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    private readonly string _storeDir;
    private readonly List<string> _clusterArgs = [];
    private Process? _process;
    private readonly System.Text.StringBuilder _log = new();

    private NatsServer()
    {
        _storeDir = Path.Combine(Path.GetTempPath(), $"eventd-nats-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_storeDir);
        Port = TestPorts.Next();
        MonitorPort = TestPorts.Next();
    }

    public int Port { get; }

    public int MonitorPort { get; }

    public string Url => $"nats://127.0.0.1:{Port}";

    /// <summary>What the server printed, for an assertion's message.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>The name the server goes by in its cluster (<c>--server_name</c>): what stream and consumer info name as leader.</summary>
    public string Name { get; private set; } = "";

    /// <summary>
    /// <paramref name="count"/> servers with JetStream routed to each other on loopback as one
    /// cluster (<c>--cluster</c>, <c>--routes</c> to all of them): the shape of a 3-node production
    /// cluster, for replicated streams. Each keeps its own ports and store across <see cref="Restart"/>.
    /// </summary>
    public static NatsServer[] StartCluster(int count)
    {
        var servers = new NatsServer[count];
        int[] routePorts = new int[count];
        for (int i = 0; i < count; i++)
        {
            servers[i] = new NatsServer();
            routePorts[i] = TestPorts.Next();
        }

        string routes = string.Join(",", routePorts.Select(p => $"nats://127.0.0.1:{p}"));
        string cluster = $"eventd-test-{Environment.ProcessId}-{servers[0].Port}";
        try
        {
            // All launched before any is waited on: JetStream needs a quorum of the cluster up to be ready.
            for (int i = 0; i < count; i++)
            {
                servers[i].Name = $"n{i}";
                servers[i]._clusterArgs.AddRange(["--server_name", $"n{i}", "--cluster_name", cluster,
                    "--cluster", $"nats://127.0.0.1:{routePorts[i]}", "--routes", routes]);
                servers[i].Spawn();
            }

            foreach (NatsServer server in servers)
            {
                server.WaitReady(server._process!);
            }
        }
        catch
        {
            foreach (NatsServer server in servers)
            {
                server.Dispose();
            }

            throw;
        }

        return servers;
    }

    public static NatsServer Start()
    {
        var server = new NatsServer();
        try
        {
            server.Launch();
        }
        catch
        {
            server.Dispose();
            throw;
        }

        return server;
    }

    /// <summary>The package installs it in /usr/sbin, which is not on every user's PATH.</summary>
    private static string Executable =>
        File.Exists("/usr/sbin/nats-server") ? "/usr/sbin/nats-server"
        : File.Exists("/usr/bin/nats-server") ? "/usr/bin/nats-server"
        : throw new InvalidOperationException("nats-server is not installed: run scripts/deps.sh");

    /// <summary>
    /// Stops the server and starts it again on the same port and store: with SIGKILL (no goodbye to
    /// its clients, nothing flushed) or, <paramref name="graceful"/>, SIGTERM (its store flushed).
    /// </summary>
    public void Restart(bool graceful = false)
    {
        Kill(graceful);
        Launch();
    }

    /// <summary>Stops the server (SIGKILL, or SIGTERM when <paramref name="graceful"/>) and waits for it to exit.</summary>
    public void Kill(bool graceful = false)
    {
        Process? process = _process;
        _process = null;
        if (process is null)
        {
            return;
        }

        if (!process.HasExited)
        {
            if (graceful)
            {
                PosixSignal.Send(process.Id, PosixSignal.SigTerm);
                if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
                {
                    process.Kill();
                }
            }
            else
            {
                process.Kill();
            }
        }

        process.WaitForExit();
        process.Dispose();
    }

    public void Dispose()
    {
        Kill();
        try
        {
            Directory.Delete(_storeDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Launch()
    {
        Spawn();
        WaitReady(_process!);
    }

    private void Spawn()
    {
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[]
                 {
                     "-a", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "-m", MonitorPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "-js", "-sd", _storeDir,
                 })
        {
            info.ArgumentList.Add(arg);
        }

        foreach (string arg in _clusterArgs)
        {
            info.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    private void WaitReady(Process process)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var url = new Uri($"http://127.0.0.1:{MonitorPort}/healthz?js-enabled-only=true");
        DateTime deadline = DateTime.UtcNow + ReadyTimeout;
        string last = "no answer yet";
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"nats-server exited with {process.ExitCode} before it was ready:\n{Log}");
            }

            try
            {
                using HttpResponseMessage response = http.GetAsync(url).GetAwaiter().GetResult();
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                last = $"HTTP {(int)response.StatusCode}";
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }
            catch (TaskCanceledException)
            {
                last = "timed out";
            }

            Thread.Sleep(25);
        }

        throw new InvalidOperationException($"nats-server on port {Port} not ready within {ReadyTimeout.TotalSeconds} s ({last}):\n{Log}");
    }
}
