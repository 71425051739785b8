using System.Runtime.InteropServices;
using System.Text;

namespace EventDaemon.Daemon.Interop;

/// <summary>
/// Calls on raw descriptors shared by the stream sources' event loops, the control socket's loop
/// and the journal: accepting, reading and waking. Flag values are the same on x86-64 and arm64 Linux.
/// </summary>
internal static unsafe partial class Libc
{
    public const int SockNonBlock = 0x800;
    public const int SockCloseOnExec = 0x80000;

    public const int EfdNonBlock = 0x800;
    public const int EfdCloseOnExec = 0x80000;

    public const int ENFile = 23;
    public const int EMFile = 24;

    /// <summary>Accepts with the new descriptor already non-blocking and close-on-exec (one call, no race with a fork).</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int accept4(int fd, void* address, void* addressLength, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint recv(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint pread(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int eventfd(uint initial, int flags);

    /// <summary>A path as the NUL-terminated UTF-8 bytes libc takes (made once per path, never per call on a hot path).</summary>
    public static byte[] NulTerminated(string text)
    {
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }
}
