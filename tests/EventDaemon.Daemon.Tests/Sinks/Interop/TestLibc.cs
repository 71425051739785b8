using System.Runtime.InteropServices;

namespace EventDaemon.Daemon.Tests.Sinks.Interop;

/// <summary>What the transport tests need from libc to build a non-blocking pipe.</summary>
internal static unsafe partial class TestLibc
{
    public const int FGetFl = 3;
    public const int FSetFl = 4;
    public const int ONonBlock = 0x800;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int pipe(int* fds);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fcntl(int fd, int command, int argument);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    /// <summary>A descriptor a test can hand over to code that closes it, apart from the Socket that owns the original.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int dup(int fd);
}
