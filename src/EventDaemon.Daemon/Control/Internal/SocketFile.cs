using System.Runtime.InteropServices;
using EventDaemon.Daemon.Interop;

namespace EventDaemon.Daemon.Control.Internal;

/// <summary>What is at a path, as far as the control socket cares: nothing, a socket (and which one), or something else.</summary>
internal enum SocketFileKind
{
    Missing,
    Socket,
    NotASocket,
}

/// <summary>Asks the file system what is at the control socket's path, without following links.</summary>
internal static class SocketFile
{
    private const int Enoent = 2;

    /// <summary>
    /// The kind of file at <paramref name="path"/> and its inode (0 unless a socket). When the
    /// kernel cannot say (a permission problem on the directory, a kernel without statx), the
    /// answer is <see cref="SocketFileKind.Socket"/> with inode 0: the caller then relies on the
    /// connect probe alone, and never deletes a file it cannot identify on exit.
    /// </summary>
    public static unsafe SocketFileKind Inspect(string path, out ulong inode)
    {
        byte* buffer = stackalloc byte[Libc.StatxSize];
        inode = 0;
        if (Libc.statx(Libc.AtFdCwd, path, Libc.AtSymlinkNoFollow, Libc.StatxType | Libc.StatxIno, buffer) != 0)
        {
            return Marshal.GetLastPInvokeError() == Enoent ? SocketFileKind.Missing : SocketFileKind.Socket;
        }

        var stat = new ReadOnlySpan<byte>(buffer, Libc.StatxSize);
        ushort mode = MemoryMarshal.Read<ushort>(stat[Libc.StatxModeOffset..]);
        if ((mode & Libc.FileTypeMask) != Libc.FileTypeSocket)
        {
            return SocketFileKind.NotASocket;
        }

        inode = MemoryMarshal.Read<ulong>(stat[Libc.StatxInoOffset..]);
        return SocketFileKind.Socket;
    }
}
