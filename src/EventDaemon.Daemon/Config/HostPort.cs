using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace EventDaemon.Daemon.Config;

/// <summary>
/// A <c>host:port</c> address: an IPv4 address, a bracketed IPv6 address (<c>[::1]:7400</c>) or a
/// host name. A listening source's name is resolved when the config is checked (it is refused if
/// it does not resolve, and the source binds the address found then); a tcp sink's name is resolved
/// on every connect, since the peer's address may change while the daemon runs.
/// </summary>
public readonly record struct HostPort(string Host, int Port)
{
    /// <param name="allowPortZero">Listening sockets accept port 0 (the kernel picks one; <c>info</c> reports it).</param>
    public static bool TryParse(string text, bool allowPortZero, out HostPort value, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        value = default;
        string host;
        ReadOnlySpan<char> port;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':')
            {
                error = $"\"{text}\" is not host:port (write IPv6 addresses as \"[::1]:7400\")";
                return false;
            }

            host = text[1..close];
            port = text.AsSpan(close + 2);
            if (!IPAddress.TryParse(host, out IPAddress? v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                error = $"\"{host}\" in \"{text}\" is not an IPv6 address";
                return false;
            }
        }
        else
        {
            int colon = text.LastIndexOf(':');
            if (colon < 0)
            {
                error = $"\"{text}\" has no port (write host:port, e.g. \"127.0.0.1:7400\")";
                return false;
            }

            host = text[..colon];
            port = text.AsSpan(colon + 1);
            if (host.Contains(':', StringComparison.Ordinal))
            {
                error = $"\"{text}\" looks like an IPv6 address without brackets (write \"[{host}]:{port}\")";
                return false;
            }

            if (host.Length == 0)
            {
                error = $"\"{text}\" has no host (use \"0.0.0.0{text}\" for every interface or \"127.0.0.1{text}\" for this machine only)";
                return false;
            }

            if (IsDottedNumbers(host) && !IPAddress.TryParse(host, out _))
            {
                // The resolver would take it for a name and ask DNS; it is a mistyped address.
                error = $"\"{host}\" in \"{text}\" is not an IPv4 address (four numbers 0-255, e.g. \"127.0.0.1\")";
                return false;
            }

            if (!IsHostName(host))
            {
                error = $"\"{host}\" in \"{text}\" is neither an IP address nor a host name";
                return false;
            }
        }

        if (port.IsEmpty || !int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out int number) || number > 65535)
        {
            error = $"\"{port}\" in \"{text}\" is not a port (0-65535)";
            return false;
        }

        if (number == 0 && !allowPortZero)
        {
            error = $"port 0 in \"{text}\" cannot be connected to";
            return false;
        }

        value = new HostPort(host, number);
        error = "";
        return true;
    }

    public override string ToString() => Host.Contains(':', StringComparison.Ordinal)
        ? $"[{Host}]:{Port.ToString(CultureInfo.InvariantCulture)}"
        : $"{Host}:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Digits and dots only (<c>256.1.1.1</c>, <c>10.1</c>): meant as an IPv4 address, never a name.</summary>
    private static bool IsDottedNumbers(string host)
    {
        foreach (char c in host)
        {
            if (!char.IsAsciiDigit(c) && c != '.')
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsHostName(string host)
    {
        if (host.Length > 253)
        {
            return false;
        }

        foreach (char c in host)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '-' or '_'))
            {
                return false;
            }
        }

        return host[0] != '.' && host[0] != '-';
    }
}
