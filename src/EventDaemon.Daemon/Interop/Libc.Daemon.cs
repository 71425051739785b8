using System.Runtime.InteropServices;

namespace EventDaemon.Daemon.Interop;

/// <summary>libc entry points of the daemon layer.</summary>
internal static partial class Libc
{
    /// <summary>The real user id; never fails (POSIX). .NET has no managed way to ask for it.</summary>
    [LibraryImport("libc", EntryPoint = "getuid")]
    public static partial uint getuid();
}
