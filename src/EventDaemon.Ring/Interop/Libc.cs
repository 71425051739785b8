using System.Runtime.InteropServices;

namespace EventDaemon.Ring.Interop;

/// <summary>The libc entry points the ring needs. Every P/Invoke of this layer lives here.</summary>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    public const int ProtRead = 0x1;
    public const int ProtWrite = 0x2;
    public const int MapPrivate = 0x02;
    public const int MapAnonymous = 0x20;
    public const int MapPopulate = 0x8000;
    public const int MadvHugePage = 14;
    public const int RlimitMemlock = 8;

    /// <summary>(void*)-1, what mmap returns on failure.</summary>
    public static readonly nint MapFailed = -1;

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int munmap(nint addr, nuint length);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int madvise(nint addr, nuint length, int advice);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int mlock(nint addr, nuint length);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int munlock(nint addr, nuint length);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int getrlimit(int resource, RLimit* rlim);

    /// <summary>pid 0 = the calling thread.</summary>
    [LibraryImport(Lib, SetLastError = true)]
    public static partial int sched_setaffinity(int pid, nuint cpusetsize, ulong* mask);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int sched_getaffinity(int pid, nuint cpusetsize, ulong* mask);

    [LibraryImport(Lib)]
    public static partial int gettid();

    public const long SysFutex = 202;
    public const int FutexWaitPrivate = 128;
    public const int FutexWakePrivate = 129;

    /// <summary>futex(2) through syscall(2) (glibc has no wrapper). The arguments are all integers
    /// or pointers, passed in registers: calling the variadic <c>syscall</c> with a fixed
    /// signature is safe on x86-64 and arm64 Linux. No SetLastError: callers ignore the result
    /// (a waiter re-checks its condition either way), and saving errno touches a thread-static
    /// whose first use on a thread allocates — on a producer's or consumer's hot path.</summary>
    [LibraryImport(Lib, EntryPoint = "syscall")]
    public static partial long futex(long number, int* address, int operation, int value, Timespec* timeout, nint address2, int value3);

    [LibraryImport(Lib)]
    public static partial nint strerror(int errnum);

    [StructLayout(LayoutKind.Sequential)]
    public struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    public static string ErrorText(int errno) => Marshal.PtrToStringUTF8(strerror(errno)) ?? $"errno {errno}";
}
