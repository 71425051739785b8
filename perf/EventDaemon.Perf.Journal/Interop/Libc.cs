using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace EventDaemon.Perf.Journal.Interop;

/// <summary>The libc entry points the journal benchmark needs. Every P/Invoke of this program lives here.</summary>
/// <remarks>
/// The calls made on the writer and syncer loops (<c>pwrite</c>, <c>pwritev</c>, <c>fdatasync</c>,
/// <c>msync</c>, <c>futex</c>, <c>clock_nanosleep</c>) do not set the last error: saving errno
/// touches a thread-static whose first use on a thread allocates, and the writer thread is held
/// to zero allocation. A failure reads errno at once with <see cref="Marshal.GetLastSystemError"/>.
/// </remarks>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    public const int ProtRead = 0x1;
    public const int ProtWrite = 0x2;
    public const int MapShared = 0x01;
    public const int MsSync = 4;
    public const int ClockMonotonic = 1;
    public const int TimerAbsTime = 1;
    public const int PrSetTimerSlack = 29;
    public const int Eintr = 4;
    public const int Eagain = 11;

    /// <summary>(void*)-1, what mmap returns on failure.</summary>
    public static readonly nint MapFailed = -1;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport(Lib)]
    public static partial nint pwrite(SafeFileHandle fd, byte* buffer, nuint count, long offset);

    [LibraryImport(Lib)]
    public static partial nint pwritev(SafeFileHandle fd, IoVec* iov, int iovcnt, long offset);

    [LibraryImport(Lib)]
    public static partial int fdatasync(SafeFileHandle fd);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int ftruncate(SafeFileHandle fd, long length);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint mmap(nint addr, nuint length, int prot, int flags, SafeFileHandle fd, long offset);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int munmap(nint addr, nuint length);

    [LibraryImport(Lib)]
    public static partial int msync(nint addr, nuint length, int flags);

    /// <summary>Sleeps until an absolute CLOCK_MONOTONIC time; returns 0 or an errno (EINTR: call again).</summary>
    [LibraryImport(Lib)]
    public static partial int clock_nanosleep(int clockId, int flags, Timespec* request, Timespec* remain);

    /// <summary>Used for PR_SET_TIMERSLACK: the default 50 µs of slack would blur a 10 µs schedule.</summary>
    [LibraryImport(Lib)]
    public static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    public const long SysFutex = 202;
    public const int FutexWaitPrivate = 128;
    public const int FutexWakePrivate = 129;

    /// <summary>futex(2) through syscall(2) (glibc has no wrapper); every argument is an integer or a
    /// pointer passed in a register, so the fixed signature is safe on x86-64 and arm64 Linux.</summary>
    [LibraryImport(Lib, EntryPoint = "syscall")]
    public static partial long futex(long number, int* address, int operation, int value, Timespec* timeout, nint address2, int value3);

    [LibraryImport(Lib)]
    public static partial nint strerror(int errnum);

    public static string ErrorText(int errno) => Marshal.PtrToStringUTF8(strerror(errno)) ?? $"errno {errno}";
}
