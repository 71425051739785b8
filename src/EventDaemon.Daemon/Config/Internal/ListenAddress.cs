using System.Net;
using System.Net.Sockets;

namespace EventDaemon.Daemon.Config.Internal;

/// <summary>
/// Turns a source's <c>address</c> into the endpoint it will bind, when the config is checked: a
/// literal is taken as written; a host name must resolve here and now (its first IPv4 address,
/// else its first address), so <c>validate</c> refuses what <c>run</c> could not bind, and the
/// running source never resolves again (a reload that keeps the name keeps the socket).
/// </summary>
internal static class ListenAddress
{
    public static IPEndPoint? Resolve(BindContext context, string key, HostPort address, ConfigPosition at, SocketType type)
    {
        IPAddress? ip = Lookup(context, key, address, at);
        if (ip is null)
        {
            return null;
        }

        if (!IsLocal(ip, type))
        {
            context.Error(at, $"{key}: no local interface has the address {ip} (of \"{address}\"); listen on one of this machine's addresses, or 0.0.0.0 for all of them");
            return null;
        }

        return new IPEndPoint(ip, address.Port);
    }

    private static IPAddress? Lookup(BindContext context, string key, HostPort address, ConfigPosition at)
    {
        if (IPAddress.TryParse(address.Host, out IPAddress? literal))
        {
            return literal;
        }

        IPAddress[] found;
        try
        {
            found = Dns.GetHostAddresses(address.Host);
        }
        catch (SocketException e)
        {
            context.Error(at, $"{key}: the host name \"{address.Host}\" does not resolve ({e.Message}); write an IP address, or a name this machine resolves (e.g. in /etc/hosts)");
            return null;
        }

        if (found.Length == 0)
        {
            context.Error(at, $"{key}: the host name \"{address.Host}\" resolves to no address; write an IP address instead");
            return null;
        }

        return Array.Find(found, a => a.AddressFamily == AddressFamily.InterNetwork) ?? found[0];
    }

    /// <summary>
    /// Whether a socket can bind the address at all: bound on port 0 (any free port) and closed at
    /// once, so a port in use, which only the start can know, is not what is asked here.
    /// </summary>
    private static bool IsLocal(IPAddress ip, SocketType type)
    {
        try
        {
            using var probe = new Socket(ip.AddressFamily, type, type == SocketType.Dgram ? ProtocolType.Udp : ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(ip, 0));
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable)
        {
            return false;
        }
        catch (SocketException)
        {
            // Anything else (no IPv6 on this host, a socket limit) is for the start to report.
            return true;
        }
    }
}
