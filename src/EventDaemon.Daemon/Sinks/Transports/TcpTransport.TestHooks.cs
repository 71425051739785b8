using System.Net.Sockets;

namespace EventDaemon.Daemon.Sinks.Transports;

public readonly partial struct TcpTransport
{
    /// <summary>The live socket, so a test can check its options (<c>TCP_NODELAY</c>).</summary>
    internal Socket? SocketForTests => _connection.Socket;

    /// <summary>Bytes of the batch in progress handed to the current connection, so a test can tell which events a reset interrupts.</summary>
    internal int BatchBytesWrittenForTests => _connection.Offset;
}
