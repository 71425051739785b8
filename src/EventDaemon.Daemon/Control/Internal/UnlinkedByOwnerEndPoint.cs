using System.Net;
using System.Net.Sockets;

namespace EventDaemon.Daemon.Control.Internal;

/// <summary>
/// A Unix socket path to bind to, that the runtime does not unlink when the socket is disposed.
/// </summary>
/// <remarks>
/// A socket bound to a <see cref="UnixDomainSocketEndPoint"/> deletes the file at that path when
/// disposed, whatever is there by then: if the operator removed our socket and started another
/// daemon on the same path, our exit would delete that daemon's socket. Binding through this
/// wrapper leaves the file to <see cref="ControlServer"/>, which deletes it only when its inode is
/// still the one it bound.
/// </remarks>
internal sealed class UnlinkedByOwnerEndPoint : EndPoint
{
    private readonly UnixDomainSocketEndPoint _path;

    public UnlinkedByOwnerEndPoint(string path)
    {
        _path = new UnixDomainSocketEndPoint(path);
    }

    public override AddressFamily AddressFamily => AddressFamily.Unix;

    public override SocketAddress Serialize() => _path.Serialize();

    /// <summary>Accepted connections get ordinary endpoints: they never own a path.</summary>
    public override EndPoint Create(SocketAddress socketAddress) => _path.Create(socketAddress);

    public override string ToString() => _path.ToString();
}
