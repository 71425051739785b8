using System.Net.Sockets;

namespace EventDaemon.Daemon.Sinks.Transports;

public readonly partial struct TcpTransport
{
    /// <summary>The live socket, so a test can check its options (<c>TCP_NODELAY</c>).</summary>
    internal Socket? SocketForTests => _connection.Socket;
}
