using System.Runtime.InteropServices;

namespace EventDaemon.Daemon.Interop;

/// <summary>The libc calls the journal makes: positioned writes and reads, and its directory lock.</summary>
/// <remarks>
/// Positioned writes (<c>pwrite</c>) into segments zeroed ahead of use, not writes through a shared
/// mapping: on this class of disk an <c>fdatasync</c> after <c>pwrite</c> into allocated blocks is the
/// cheapest durable write there is, a mapping's dirty pages sync 2–2.5× slower, and a mapping turns a
/// failing disk into SIGBUS instead of an errno.
/// </remarks>
internal static unsafe partial class Libc
{
    public const int OReadWrite = 0x2;
    public const int ENoSpc = 28;

    /// <summary><c>flock(2)</c> operations: exclusive, and fail instead of waiting.</summary>
    public const int LockExclusive = 2;
    public const int LockNonBlocking = 4;
    public const int EWouldBlock = 11;

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint pwrite(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int flock(int fd, int operation);
}
