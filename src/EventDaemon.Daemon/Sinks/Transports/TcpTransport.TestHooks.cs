using System.Net.Sockets;
using System.Runtime.CompilerServices;

// Until the project file lists it: tests reach the hooks below.
[assembly: InternalsVisibleTo("EventDaemon.Daemon.Tests")]

namespace EventDaemon.Daemon.Sinks.Transports;

public readonly partial struct TcpTransport
{
    /// <summary>The live socket, so a test can check its options (<c>TCP_NODELAY</c>).</summary>
    internal Socket? SocketForTests => _connection.Socket;
}
