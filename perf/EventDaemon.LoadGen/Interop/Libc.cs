using System.Runtime.InteropServices;

namespace EventDaemon.LoadGen.Interop;

/// <summary>libc entry points the load generator needs and .NET does not expose.</summary>
internal static partial class Libc
{
    public const int ClockMonotonic = 1;
    public const int TimerAbsTime = 1;
    public const int PrSetTimerSlack = 29;
    public const int SigTerm = 15;
    public const short PollIn = 0x001;
    public const int EIntr = 4;

    /// <summary>sysconf name of the clock ticks per second that /proc stat times are counted in.</summary>
    public const int ScClkTck = 2;

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short ReturnedEvents;
    }

    /// <summary>Sleeps until an absolute CLOCK_MONOTONIC time; returns 0 or an errno (EINTR: call again).</summary>
    [LibraryImport("libc", EntryPoint = "clock_nanosleep")]
    public static partial int clock_nanosleep(int clockId, int flags, in Timespec request, IntPtr remain);

    /// <summary>
    /// Waits for <paramref name="fds"/> with a timeout in nanoseconds (relative), the paced acked
    /// sender's wait for acks between its writes: <c>Socket.Poll</c> takes whole milliseconds, a
    /// hundred times the step. Returns the ready descriptors, 0 on timeout, -1 with errno (EINTR: call again).
    /// </summary>
    [LibraryImport("libc", EntryPoint = "ppoll", SetLastError = true)]
    public static partial int ppoll(ref PollFd fds, nuint count, in Timespec timeout, IntPtr signalMask);

    /// <summary>Used for PR_SET_TIMERSLACK: the default 50 µs of slack would blur a fixed-rate schedule.</summary>
    [LibraryImport("libc", EntryPoint = "prctl")]
    public static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport("libc", EntryPoint = "sysconf")]
    public static partial long sysconf(int name);

    /// <summary>The journal's sync (data, and the metadata needed to read it back): what the sync probe times.</summary>
    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    public static partial int fdatasync(int fd);

    /// <summary>SIGTERM lets eventd drain and exit cleanly, which Process.Kill (SIGKILL) does not.</summary>
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int kill(int pid, int signal);
}
