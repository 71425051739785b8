using System.Runtime.InteropServices;
using EventDaemon.Daemon.Interop;

namespace EventDaemon.Daemon.Control.Internal;

/// <summary>Asks the file system what is at a path, without following a link at its end.</summary>
internal static class SocketFile
{
    private const int Enoent = 2;
    private const int Enotdir = 20;

    /// <summary>
    /// The kind of file at <paramref name="path"/> and its inode (0 unless a socket). When the
    /// kernel cannot say (a permission problem on the directory, a kernel without statx), the
    /// answer is <see cref="SocketFileKind.Socket"/> with inode 0: the caller then relies on the
    /// connect probe alone, and never deletes a file it cannot identify on exit.
    /// </summary>
    public static SocketFileKind Inspect(string path, out ulong inode)
    {
        PathStatus status = Lstat(path);
        inode = status.Kind == PathKind.Socket ? status.Inode : 0;
        return status.Kind switch
        {
            PathKind.Missing => SocketFileKind.Missing,
            PathKind.Socket or PathKind.Unknown => SocketFileKind.Socket,
            _ => SocketFileKind.NotASocket,
        };
    }

    /// <summary><c>lstat(2)</c> through statx, whose layout is fixed on every architecture.</summary>
    public static unsafe PathStatus Lstat(string path)
    {
        byte* buffer = stackalloc byte[Libc.StatxSize];
        uint mask = Libc.StatxType | Libc.StatxMode | Libc.StatxUid | Libc.StatxIno;
        if (Libc.statx(Libc.AtFdCwd, path, Libc.AtSymlinkNoFollow, mask, buffer) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            return errno is Enoent or Enotdir
                ? new PathStatus(PathKind.Missing, 0, 0, 0, 0)
                : new PathStatus(PathKind.Unknown, 0, 0, 0, errno);
        }

        var stat = new ReadOnlySpan<byte>(buffer, Libc.StatxSize);
        int mode = MemoryMarshal.Read<ushort>(stat[Libc.StatxModeOffset..]);
        PathKind kind = (mode & Libc.FileTypeMask) switch
        {
            Libc.FileTypeSocket => PathKind.Socket,
            Libc.FileTypeDirectory => PathKind.Directory,
            Libc.FileTypeSymlink => PathKind.Symlink,
            _ => PathKind.Other,
        };
        return new PathStatus(
            kind,
            MemoryMarshal.Read<uint>(stat[Libc.StatxUidOffset..]),
            mode & 0xFFF,
            MemoryMarshal.Read<ulong>(stat[Libc.StatxInoOffset..]),
            0);
    }
}

/// <summary>What is at the control socket's path: nothing, a socket (and which one), or something else.</summary>
internal enum SocketFileKind
{
    Missing,
    Socket,
    NotASocket,
}
