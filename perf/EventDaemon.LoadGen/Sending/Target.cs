using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace EventDaemon.LoadGen.Sending;

/// <summary>Where events go: <c>tcp://HOST:PORT</c>, <c>udp://HOST:PORT</c> or <c>unix:///PATH</c>.</summary>
internal sealed record Target(ProtocolType Protocol, EndPoint EndPoint, string Text)
{
    public bool IsDatagram => Protocol == ProtocolType.Udp;

    public static Target Parse(string text)
    {
        if (text.StartsWith("unix://", StringComparison.Ordinal))
        {
            return new Target(ProtocolType.Unspecified, new UnixDomainSocketEndPoint(text["unix://".Length..]), text);
        }

        bool udp = text.StartsWith("udp://", StringComparison.Ordinal);
        string rest = udp ? text["udp://".Length..] : text.StartsWith("tcp://", StringComparison.Ordinal) ? text["tcp://".Length..] : text;
        return new Target(udp ? ProtocolType.Udp : ProtocolType.Tcp, ParseIp(rest), text);
    }

    public static IPEndPoint ParseIp(string hostPort)
    {
        int colon = hostPort.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(hostPort.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port))
        {
            throw new FormatException($"'{hostPort}' is not HOST:PORT");
        }

        string host = hostPort[..colon].Trim('[', ']');
        IPAddress address = host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(host);
        return new IPEndPoint(address, port);
    }

    public Socket Connect()
    {
        Socket socket = Protocol switch
        {
            ProtocolType.Udp => new Socket(EndPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp),
            ProtocolType.Tcp => new Socket(EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true },
            _ => new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified),
        };
        try
        {
            socket.Connect(EndPoint);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return socket;
    }

    public override string ToString() => Text;
}
