using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;

namespace EventDaemon.Perf.Nats;

/// <summary>
/// One nats-server with JetStream on free loopback ports, or a cluster of them routed to each
/// other, killed at the end of the run.
/// </summary>
public sealed class NatsServerProcess : IDisposable
{
    private readonly Process[] _processes;

    private NatsServerProcess(Process[] processes, string url)
    {
        _processes = processes;
        Url = url;
    }

    /// <summary>Every server's client URL, comma-separated: what eventd's <c>url</c> and NATS.Client take.</summary>
    public string Url { get; }

    public static NatsServerProcess Start(string store) => StartCluster(store, 1);

    /// <summary>
    /// <paramref name="count"/> servers; more than one form a cluster (<c>--cluster</c>, routes to
    /// all), all launched before any is waited on: JetStream needs a quorum to be ready.
    /// </summary>
    public static NatsServerProcess StartCluster(string store, int count)
    {
        int[] ports = [.. Enumerable.Range(0, count).Select(_ => FreePort())];
        int[] monitors = [.. Enumerable.Range(0, count).Select(_ => FreePort())];
        int[] routes = [.. Enumerable.Range(0, count).Select(_ => FreePort())];
        string executable = File.Exists("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : "nats-server";
        var processes = new Process[count];
        for (int i = 0; i < count; i++)
        {
            var info = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true };
            var args = new List<string> { "-a", "127.0.0.1", "-p", Text(ports[i]), "-m", Text(monitors[i]), "-js", "-sd", Path.Combine(store, $"n{i}") };
            if (count > 1)
            {
                args.AddRange(["--server_name", $"n{i}", "--cluster_name", "bench", "--cluster", $"nats://127.0.0.1:{routes[i]}",
                    "--routes", string.Join(",", routes.Select(r => $"nats://127.0.0.1:{r}"))]);
            }

            args.ForEach(info.ArgumentList.Add);
            processes[i] = Process.Start(info)!;
            processes[i].BeginErrorReadLine();
            processes[i].BeginOutputReadLine();
        }

        var server = new NatsServerProcess(processes, string.Join(",", ports.Select(p => $"nats://127.0.0.1:{p}")));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        foreach (int monitor in monitors)
        {
            while (true)
            {
                try
                {
                    if (http.GetAsync(new Uri($"http://127.0.0.1:{monitor}/healthz?js-enabled-only=true")).GetAwaiter().GetResult().IsSuccessStatusCode)
                    {
                        break;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                }

                if (DateTime.UtcNow > deadline)
                {
                    server.Dispose();
                    throw new InvalidOperationException("nats-server was not ready within 60 s (scripts/deps.sh installs it)");
                }

                Thread.Sleep(50);
            }
        }

        return server;
    }

    public void Dispose()
    {
        foreach (Process process in _processes)
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit();
            }
        }
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
