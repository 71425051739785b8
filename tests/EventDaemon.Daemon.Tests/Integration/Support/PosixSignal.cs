using System.Runtime.InteropServices;

namespace EventDaemon.Daemon.Tests.Integration.Support;

/// <summary>Sends a signal to one process by its id (Process.Kill only knows SIGKILL).</summary>
internal static partial class PosixSignal
{
    public const int SigHup = 1;
    public const int SigTerm = 15;

    /// <summary>Stops the process where it is (it reads nothing, acks nothing) until SIGCONT or SIGKILL.</summary>
    public const int SigStop = 19;

    public static void Send(int pid, int signal)
    {
        if (kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}
