using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace EventDaemon.Perf.Nats;

/// <summary>One nats-server with JetStream on free loopback ports, killed at the end of the run.</summary>
public sealed class NatsServerProcess : IDisposable
{
    private readonly Process _process;

    private NatsServerProcess(Process process, int port)
    {
        _process = process;
        Url = $"nats://127.0.0.1:{port}";
    }

    public string Url { get; }

    public static NatsServerProcess Start(string store)
    {
        int port = FreePort();
        string executable = File.Exists("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : "nats-server";
        var info = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in new[] { "-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-js", "-sd", store })
        {
            info.ArgumentList.Add(arg);
        }

        Process process = Process.Start(info)!;
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, port);
                return new NatsServerProcess(process, port);
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }

        process.Kill();
        throw new InvalidOperationException("nats-server did not listen within 30 s (scripts/deps.sh installs it)");
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
