using System.Runtime.InteropServices;

namespace EventDaemon.Daemon.Interop;

/// <summary>libc entry points of the control socket.</summary>
/// <remarks>
/// The server's loop works on raw descriptors (accept4, recv, send, poll, an eventfd to wake it)
/// rather than <see cref="System.Net.Sockets.Socket"/> objects: a connection is then an int in a
/// fixed table, nothing per connection is allocated or registered with the runtime's own event
/// loop, and a client that misbehaves costs an errno, not an exception. Constants are the same on
/// x86-64 and arm64 Linux.
/// </remarks>
internal static unsafe partial class Libc
{
    /// <summary>Resolve a relative path against the working directory.</summary>
    public const int AtFdCwd = -100;

    /// <summary>Describe a symlink itself, not its target: a link is never taken for our socket or its directory.</summary>
    public const int AtSymlinkNoFollow = 0x100;

    public const uint StatxType = 0x1;
    public const uint StatxMode = 0x2;
    public const uint StatxUid = 0x8;
    public const uint StatxIno = 0x100;

    /// <summary>
    /// sizeof(struct statx). statx rather than stat because its layout is the same on every
    /// architecture (stat's differs between x86-64 and arm64), so fixed offsets are safe.
    /// </summary>
    public const int StatxSize = 256;
    public const int StatxUidOffset = 20;
    public const int StatxModeOffset = 28;
    public const int StatxInoOffset = 32;

    /// <summary>S_IFMT and the file types of st_mode the control socket tells apart.</summary>
    public const int FileTypeMask = 0xF000;
    public const int FileTypeSocket = 0xC000;
    public const int FileTypeDirectory = 0x4000;
    public const int FileTypeSymlink = 0xA000;

    public const short PollIn = 0x1;
    public const short PollErr = 0x8;
    public const short PollHup = 0x10;
    public const short PollNval = 0x20;

    /// <summary>Never raise SIGPIPE on a peer that left; the send returns EPIPE instead.</summary>
    public const int MsgNoSignal = 0x4000;
    public const int MsgDontWait = 0x40;

    public const int ShutWrite = 1;

    public const int EExist = 17;

    public const int SolSocket = 1;
    public const int SoPeerCred = 17;

    /// <summary>glibc 2.28+ and Linux 4.11+. <paramref name="buffer"/> must hold <see cref="StatxSize"/> bytes.</summary>
    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    /// <summary>The effective user id: the owner of files and sockets this process creates.</summary>
    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint geteuid();

    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mkdir(string path, uint mode);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint send(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int shutdown(int fd, int how);

    public const int IpProtoTcp = 6;
    public const int TcpNoDelay = 1;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setsockopt(int fd, int level, int name, void* value, uint length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int getsockopt(int fd, int level, int name, void* value, uint* length);

    /// <summary>struct ucred, what SO_PEERCRED returns.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct UCred
    {
        public int Pid;
        public uint Uid;
        public uint Gid;
    }
}
