using System.Runtime.InteropServices;

namespace EventDaemon.Events.Tests.Codecs.Interop;

/// <summary>What the client tests need from libc: <c>poll</c> on a descriptor the client hands out,
/// as a caller that waits on it itself does (no <c>Socket</c> wrapped around a borrowed handle).</summary>
internal static partial class TestLibc
{
    public const short PollIn = 0x001;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short ReturnedEvents;
    }

    /// <summary>Ready descriptors, 0 on timeout, -1 with errno.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int poll(ref PollFd fds, nuint count, int timeoutMilliseconds);
}
