using System.Runtime.InteropServices;

namespace EventDaemon.Daemon.Interop;

/// <summary>libc entry points of the control socket.</summary>
internal static partial class Libc
{
    /// <summary>Resolve a relative path against the working directory.</summary>
    public const int AtFdCwd = -100;

    /// <summary>Describe a symlink itself, not its target: a link is never taken for our socket.</summary>
    public const int AtSymlinkNoFollow = 0x100;

    public const uint StatxType = 0x1;
    public const uint StatxIno = 0x100;

    /// <summary>
    /// sizeof(struct statx). statx rather than stat because its layout is the same on every
    /// architecture (stat's differs between x86-64 and arm64), so fixed offsets are safe.
    /// </summary>
    public const int StatxSize = 256;
    public const int StatxModeOffset = 28;
    public const int StatxInoOffset = 32;

    /// <summary>S_IFMT and S_IFSOCK of st_mode.</summary>
    public const int FileTypeMask = 0xF000;
    public const int FileTypeSocket = 0xC000;

    /// <summary>glibc 2.28+ and Linux 4.11+. <paramref name="buffer"/> must hold <see cref="StatxSize"/> bytes.</summary>
    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial int statx(int dirfd, string path, int flags, uint mask, byte* buffer);
}
