using System.Net.Sockets;
using System.Runtime.InteropServices;
using EventDaemon.Daemon.Interop;

namespace EventDaemon.Daemon.Control.Internal;

/// <summary>Who is on the other end of a Unix socket, as the kernel vouches for it (SO_PEERCRED).</summary>
/// <remarks>
/// The kernel records the peer's credentials when the connection is made (connect on the client
/// side, listen on the server side), so a process cannot claim another uid afterwards: the server
/// uses them to decide who may reload or drain, the client to decide whether to trust the reply.
/// </remarks>
internal static class PeerCredentials
{
    /// <summary>sizeof(struct ucred): int pid, uint uid, uint gid.</summary>
    private const int UcredSize = 12;
    private const int UidOffset = 4;

    /// <summary>
    /// The peer's uid as it was when it connected; false when the kernel does not say, in which
    /// case the caller must refuse anything that needs a uid.
    /// </summary>
    public static bool TryGetUid(Socket socket, out uint uid)
    {
        Span<byte> ucred = stackalloc byte[UcredSize];
        try
        {
            int length = socket.GetRawSocketOption(Libc.SolSocket, Libc.SoPeerCred, ucred);
            if (length >= UcredSize)
            {
                uid = MemoryMarshal.Read<uint>(ucred[UidOffset..]);
                return true;
            }
        }
        catch (SocketException)
        {
        }

        uid = 0;
        return false;
    }

    /// <inheritdoc cref="TryGetUid(Socket, out uint)"/>
    public static unsafe bool TryGetUid(int fd, out uint uid)
    {
        Libc.UCred ucred;
        uint length = (uint)sizeof(Libc.UCred);
        if (Libc.getsockopt(fd, Libc.SolSocket, Libc.SoPeerCred, &ucred, &length) == 0 && length >= UcredSize)
        {
            uid = ucred.Uid;
            return true;
        }

        uid = 0;
        return false;
    }
}
