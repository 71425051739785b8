using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EventDaemon.Daemon.Tests.Integration.Support;

/// <summary>Client sockets for feeding the daemon's sources.</summary>
internal static class TestSockets
{
    /// <summary>How long one blocking send or receive may hang before the test fails instead of hanging.</summary>
    private const int IoTimeoutMs = 30_000;

    public static Socket ConnectTcp(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            NoDelay = true,
            SendTimeout = IoTimeoutMs,
            ReceiveTimeout = IoTimeoutMs,
        };
        socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
        return socket;
    }

    public static Socket ConnectUnix(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
        {
            SendTimeout = IoTimeoutMs,
            ReceiveTimeout = IoTimeoutMs,
        };
        socket.Connect(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    /// <summary>Connects, sends everything, half-closes and closes.</summary>
    public static void SendTcp(int port, ReadOnlySpan<byte> bytes)
    {
        using Socket socket = ConnectTcp(port);
        SendAll(socket, bytes);
        socket.Shutdown(SocketShutdown.Send);
    }

    public static void SendTcp(int port, string text) => SendTcp(port, Encoding.UTF8.GetBytes(text));

    public static void SendAll(Socket socket, ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            bytes = bytes[socket.Send(bytes)..];
        }
    }

    public static void SendAll(Socket socket, string text) => SendAll(socket, Encoding.UTF8.GetBytes(text));

    public static Socket UdpSender() => new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

    public static void SendDatagram(Socket sender, int port, ReadOnlySpan<byte> datagram) =>
        sender.SendTo(datagram, SocketFlags.None, new IPEndPoint(IPAddress.Loopback, port));

    /// <summary>
    /// Whether the daemon closed <paramref name="socket"/>: a read returns end-of-stream or a reset.
    /// Anything the daemon sends first is an error (sources never answer).
    /// </summary>
    public static bool WaitClosedByPeer(Socket socket, TimeSpan timeout)
    {
        if (!socket.Poll(timeout, SelectMode.SelectRead))
        {
            return false;
        }

        try
        {
            byte[] one = new byte[1];
            int n = socket.Receive(one);
            if (n != 0)
            {
                throw new InvalidOperationException("a source sent bytes to its client");
            }

            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return true;
        }
    }
}
