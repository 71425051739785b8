using System.Runtime.InteropServices;

namespace EventDaemon.Daemon.Sinks.Transports.Internal;

/// <summary>errno as people read it: <c>Permission denied (errno 13)</c>. Failure path only: it allocates.</summary>
internal static class Errno
{
    public static string Describe(int errno) =>
        errno == 0 ? "unknown error" : $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
}
