using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EventDaemon.Daemon.Interop;

/// <summary>The libc calls of the stream sources' event loops: epoll, accept4 and reads on raw descriptors.</summary>
/// <remarks>
/// Raw descriptors rather than <see cref="System.Net.Sockets.Socket"/> objects for connections: a
/// connection then costs a descriptor and a few hundred bytes of our own state, and a read is one
/// <c>recv</c> into a buffer pinned for the thread's life, with nothing allocated. The listener
/// stays a <see cref="System.Net.Sockets.Socket"/> (binding and its error messages), only its
/// descriptor is handed to <see cref="accept4"/>.
/// </remarks>
internal static unsafe partial class Libc
{
    public const int EpollCloseOnExec = 0x80000;

    public const int EpollCtlAdd = 1;
    public const int EpollCtlDel = 2;

    public const uint EpollIn = 0x1;
    public const uint EpollErr = 0x8;
    public const uint EpollHup = 0x10;

    public const int EBadF = 9;
    public const int ENoBufs = 105;
    public const int ENoMem = 12;
    public const int EConnAborted = 103;

    public const int RLimitNoFile = 7;

    /// <summary>
    /// Bytes between two <c>struct epoll_event</c>s in the array <see cref="epoll_wait"/> fills:
    /// x86-64 packs the struct (a 4-byte mask then the 8-byte data, 12 bytes); other 64-bit ABIs
    /// align the data to 8 (16 bytes). Read through <see cref="EpollEventMask"/> and
    /// <see cref="EpollEventData"/> rather than a struct, so one layout serves both.
    /// </summary>
    public static readonly int EpollEventBytes = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    /// <summary>Offset of the 64-bit data within an event (see <see cref="EpollEventBytes"/>).</summary>
    private static readonly int EpollDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint EpollEventMask(byte* events, int index) => Unsafe.ReadUnaligned<uint>(events + (index * EpollEventBytes));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong EpollEventData(byte* events, int index) => Unsafe.ReadUnaligned<ulong>(events + (index * EpollEventBytes) + EpollDataOffset);

    /// <summary><c>epoll_ctl</c> with the event built on the stack in the ABI's layout.</summary>
    public static int EpollControl(int epoll, int operation, int fd, uint mask, ulong data)
    {
        byte* ev = stackalloc byte[16];
        Unsafe.WriteUnaligned(ev, mask);
        Unsafe.WriteUnaligned(ev + EpollDataOffset, data);
        return epoll_ctl(epoll, operation, fd, ev);
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_ctl(int epoll, int operation, int fd, byte* ev);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_wait(int epoll, byte* events, int maxEvents, int timeoutMilliseconds);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int getrlimit(int resource, RLimit* limit);

    [StructLayout(LayoutKind.Sequential)]
    public struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }
}
