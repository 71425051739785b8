using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace EventDaemon.Daemon.Control.Internal;

/// <summary>Who is on the other end of a Unix socket, as the kernel vouches for it (SO_PEERCRED).</summary>
internal static class PeerCredentials
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

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
            int length = socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred);
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
}
