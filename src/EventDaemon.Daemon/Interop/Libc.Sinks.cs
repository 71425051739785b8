using System.Runtime.InteropServices;

namespace EventDaemon.Daemon.Interop;

/// <summary>The libc calls the sink transports make on raw file descriptors.</summary>
/// <remarks>
/// Raw descriptors rather than <see cref="Microsoft.Win32.SafeHandles.SafeFileHandle"/> and
/// <see cref="RandomAccess"/>: both are allocation-free once warm, but the raw calls give
/// <c>O_APPEND</c>, the creation mode, <c>ftruncate</c> to undo a half-written batch, and an errno
/// instead of an exception on the failure path. The flag values are the same on x86-64 and arm64
/// Linux (the ones that differ, such as <c>O_DIRECTORY</c>, are deliberately not used).
/// </remarks>
internal static unsafe partial class Libc
{
    public const int OWriteOnly = 0x1;
    public const int OReadOnly = 0x0;
    public const int OCreate = 0x40;
    public const int OAppend = 0x400;
    public const int OCloseOnExec = 0x80000;

    public const int SeekEnd = 2;

    public const int FGetFl = 3;

    public const short PollOut = 0x4;

    public const int EIntr = 4;
    public const int EAgain = 11;
    public const int ENoEnt = 2;

    /// <summary>
    /// <c>open(2)</c>. Declared with a fixed third argument although C declares it variadic: on the
    /// x86-64 and arm64 Linux ABIs an int in the third position is passed identically either way.
    /// </summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int open(byte* path, int flags, uint mode);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fdatasync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ftruncate(int fd, long length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial long lseek(int fd, long offset, int whence);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int rename(byte* oldPath, byte* newPath);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    /// <summary><c>fcntl(2)</c> for commands without an argument (<c>F_GETFL</c>).</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int fcntl(int fd, int command);

    /// <summary><c>SIOCOUTQ</c> (= <c>TIOCOUTQ</c>, the same value on x86-64 and arm64): bytes of a TCP
    /// socket's send queue the peer has not acknowledged yet.</summary>
    public const nuint SiocOutQ = 0x5411;

    /// <summary><c>ioctl(2)</c> for requests that write one int (<c>SIOCOUTQ</c>). Declared with a fixed
    /// pointer argument: passed identically to the variadic C call on these ABIs.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, int* value);

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short ReturnedEvents;
    }
}
