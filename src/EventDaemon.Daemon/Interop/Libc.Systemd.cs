using System.Runtime.InteropServices;

namespace EventDaemon.Daemon.Interop;

/// <summary>The libc calls the systemd integration makes.</summary>
internal static unsafe partial class Libc
{
    /// <summary>The clock systemd's <c>MONOTONIC_USEC=</c> is read against.</summary>
    public const int ClockMonotonic = 1;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int clock_gettime(int clockId, TimeSpec* time);

    [StructLayout(LayoutKind.Sequential)]
    public struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
