using System.Runtime.InteropServices;

namespace EventDaemon.Daemon.Interop;

/// <summary>libc entry points of the daemon layer.</summary>
internal static partial class Libc
{
    /// <summary>The real user id; never fails (POSIX). .NET has no managed way to ask for it.</summary>
    [LibraryImport("libc", EntryPoint = "getuid")]
    public static partial uint getuid();

    /// <summary>Whether the real user may access <paramref name="path"/> as <paramref name="mode"/> asks (R_OK 4, W_OK 2, X_OK 1); 0 if so.</summary>
    [LibraryImport("libc", EntryPoint = "access", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int access(string path, int mode);
}
