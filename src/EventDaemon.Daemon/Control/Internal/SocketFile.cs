using System.Runtime.InteropServices;
using EventDaemon.Daemon.Interop;

namespace EventDaemon.Daemon.Control.Internal;

/// <summary>What is at a path, as far as the control socket cares.</summary>
internal enum PathKind
{
    Missing,
    Socket,
    Directory,
    Symlink,
    Other,

    /// <summary>The kernel would not say (a permission problem on a parent, say).</summary>
    Unknown,
}

/// <summary>One <c>lstat</c> of a path: its kind, owner, permission bits and inode.</summary>
/// <param name="Permissions">The low 12 bits of st_mode: rwx for user, group, other, and setuid, setgid, sticky.</param>
/// <param name="Error">The errno when <see cref="Kind"/> is <see cref="PathKind.Unknown"/>, else 0.</param>
internal readonly record struct PathStatus(PathKind Kind, uint Owner, int Permissions, ulong Inode, int Error)
{
    /// <summary>S_IWGRP | S_IWOTH: someone other than the owner may create, remove and rename entries.</summary>
    public const int WritableByOthers = 0x12;

    /// <summary>S_ISVTX: in a directory, only an entry's owner (or the directory's, or root) may remove or rename it.</summary>
    public const int Sticky = 0x200;

    public bool IsWritableByOthers => (Permissions & WritableByOthers) != 0;

    public bool IsSticky => (Permissions & Sticky) != 0;

    /// <summary>The permission bits as <c>chmod</c> prints them (<c>0755</c>, <c>1777</c>).</summary>
    public string OctalPermissions => Convert.ToString(Permissions, 8).PadLeft(4, '0');
}

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
