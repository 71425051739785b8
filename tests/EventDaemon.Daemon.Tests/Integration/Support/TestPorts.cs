using System.Net;
using System.Net.Sockets;

namespace EventDaemon.Daemon.Tests.Integration.Support;

/// <summary>
/// Loopback ports for the daemon's config. They come from 61000–64999, above Linux's default
/// ephemeral range (32768–60999), so no client socket of this machine is handed one of them by
/// the kernel; each is checked free (TCP and UDP) before use, and every test gets ports of its own
/// so that connections left in TIME_WAIT by an earlier test never matter. A port taken between the
/// check and the daemon's bind is handled by <see cref="DaemonProcess"/> retrying with new ones.
/// </summary>
internal static class TestPorts
{
    private const int First = 61000;
    private const int Count = 4000;

    // Test processes running side by side start at different places of the range.
    private static int _next = Environment.ProcessId * 37 % Count;

    public static int Next()
    {
        for (int attempt = 0; attempt < Count; attempt++)
        {
            int port = First + (Interlocked.Increment(ref _next) % Count);
            if (IsFree(port))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"no free loopback port in {First}-{First + Count - 1}");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            tcp.Bind(new IPEndPoint(IPAddress.Loopback, port));
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
