using System.Net;
using System.Net.Sockets;
using System.Text;
using EventDaemon.Daemon.Http;
using EventDaemon.Daemon.Tests.Control;

namespace EventDaemon.Daemon.Tests.Http;

/// <summary>A daemon as the HTTP endpoint sees it, each answer settable by the test.</summary>
internal sealed class FakeHttpTarget : IHttpTarget
{
    public DaemonPhase Phase { get; set; } = DaemonPhase.Ready;

    public Func<string> HealthText { get; set; } = () => "ok";

    public Func<string> MetricsText { get; set; } = () => "# HELP eventd_up Up.\n# TYPE eventd_up gauge\neventd_up 1\n";

    public string Health() => HealthText();

    public string Metrics() => MetricsText();
}

/// <summary>Raw HTTP over a TCP socket: what curl cannot do (hostile clients), and the exact bytes of a reply.</summary>
internal static class RawHttp
{
    /// <summary>Sends <paramref name="request"/> as it is and reads until the server closes.</summary>
    public static string Exchange(IPEndPoint server, string request)
    {
        using Socket socket = Connect(server);
        socket.Send(Encoding.ASCII.GetBytes(request));
        return ReadToClose(socket);
    }

    public static Socket Connect(IPEndPoint server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            ReceiveTimeout = (int)RawClient.Deadline.TotalMilliseconds,
            SendTimeout = (int)RawClient.Deadline.TotalMilliseconds,
        };
        socket.Connect(server);
        return socket;
    }

    /// <summary>Everything until the server closes; what arrived before a reset counts as the reply.</summary>
    public static string ReadToClose(Socket socket)
    {
        var reply = new MemoryStream();
        byte[] buffer = new byte[16 * 1024];
        while (true)
        {
            int received;
            try
            {
                received = socket.Receive(buffer);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                break;
            }

            if (received == 0)
            {
                break;
            }

            reply.Write(buffer, 0, received);
        }

        return Encoding.UTF8.GetString(reply.GetBuffer(), 0, (int)reply.Length);
    }

    /// <summary>The status code of a raw reply ("HTTP/1.1 200 OK" gives 200); 0 for no reply.</summary>
    public static int Status(string reply) =>
        reply.Length >= 12 && reply.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) ? int.Parse(reply.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture) : 0;

    public static string Body(string reply)
    {
        int end = reply.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return end < 0 ? "" : reply[(end + 4)..];
    }

    /// <summary><c>curl -s -i URL</c>: the status line, headers and body as curl got them.</summary>
    public static (int ExitCode, string Output) Curl(string url, params string[] options)
    {
        (int exit, string stdout, string stderr) = Tool.Run("curl", "", ["-s", "-S", "-i", "--max-time", "30", .. options, url]);
        return (exit, stdout + stderr);
    }
}
