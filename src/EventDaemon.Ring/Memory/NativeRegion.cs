using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EventDaemon.Ring.Internal;
using EventDaemon.Ring.Interop;

namespace EventDaemon.Ring.Memory;

/// <summary>
/// The one owner of a native mapping: maps it anonymously, advises huge pages, pre-faults it,
/// optionally locks it in RAM, and unmaps it when released. It hands out spans and refs only;
/// the base address never leaves this type.
/// </summary>
/// <remarks>
/// Both ends carry <see cref="Padding"/> bytes that nobody uses, so the first and last usable
/// cache lines never share a line (or an adjacent-line prefetch pair) with other hot data.
/// </remarks>
public sealed unsafe class NativeRegion : SafeHandle
{
    /// <summary>128 = two cache lines: x86 prefetches lines in adjacent pairs.</summary>
    public const int Padding = 128;

    /// <summary>Below this size huge pages cannot help (a huge page is 2 MiB on x86-64).</summary>
    private const long HugePageThreshold = 2L * 1024 * 1024;

    private readonly nuint _mappedLength;

    private NativeRegion(nint address, nuint mappedLength, long length)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle(address);
        _mappedLength = mappedLength;
        Length = length;
    }

    /// <summary>Usable bytes, excluding padding.</summary>
    public long Length { get; }

    /// <summary>Bytes of the mapping, padding and page rounding included.</summary>
    public long MappedLength => (long)_mappedLength;

    public bool HugePagesAdvised { get; private set; }

    public bool IsLocked { get; private set; }

    /// <summary>Why locking was not done, when it was requested and refused; null otherwise.</summary>
    public string? LockWarning { get; private set; }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Maps <paramref name="length"/> usable bytes, pre-faulted, and locks them if asked.</summary>
    /// <param name="prefault">false for bounded-but-sparse state (aggregate groups): pages are then
    /// committed on first touch, so resident memory follows use up to the bound.</param>
    /// <exception cref="InsufficientMemoryException">The kernel refused the mapping.</exception>
    public static NativeRegion Allocate(long length, bool lockMemory, bool prefault = true)
    {
        if (length <= 0)
        {
            ThrowHelper.ArgumentOutOfRange(nameof(length), "a region needs at least one byte");
        }

        long pageSize = Environment.SystemPageSize;
        long total = (length + 2 * Padding + pageSize - 1) / pageSize * pageSize;
        nint address = Libc.mmap(0, (nuint)total, Libc.ProtRead | Libc.ProtWrite,
            Libc.MapPrivate | Libc.MapAnonymous, -1, 0);
        if (address == Libc.MapFailed)
        {
            int errno = Marshal.GetLastPInvokeError();
            ThrowHelper.OutOfMemory($"cannot map {total} bytes: {Libc.ErrorText(errno)}");
        }

        var region = new NativeRegion(address, (nuint)total, length);
        if (total >= HugePageThreshold)
        {
            // Advice only: kernels without transparent huge pages return EINVAL, which is fine.
            region.HugePagesAdvised = Libc.madvise(address, (nuint)total, Libc.MadvHugePage) == 0;
        }

        if (prefault)
        {
            region.Prefault(pageSize);
        }

        if (lockMemory)
        {
            region.TryLock();
        }

        return region;
    }

    /// <summary>The usable bytes. Valid until the region is disposed.</summary>
    public Span<byte> Bytes => new((void*)(handle + Padding), checked((int)Math.Min(Length, int.MaxValue)));

    /// <summary>A reference to the <typeparamref name="T"/> at a byte offset of the usable range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref T At<T>(long byteOffset) where T : unmanaged =>
        ref Unsafe.AsRef<T>((void*)(handle + Padding + (nint)byteOffset));

    /// <summary><paramref name="length"/> bytes from <paramref name="byteOffset"/>, unchecked beyond debug builds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> Slice(long byteOffset, int length)
    {
        System.Diagnostics.Debug.Assert(byteOffset >= 0 && byteOffset + length <= Length, "slice outside the region");
        return new Span<byte>((void*)(handle + Padding + (nint)byteOffset), length);
    }

    /// <summary>Locked-memory limit of this process (RLIMIT_MEMLOCK soft limit), in bytes.</summary>
    public static ulong MemlockLimit()
    {
        Libc.RLimit limit;
        return Libc.getrlimit(Libc.RlimitMemlock, &limit) == 0 ? limit.Current : 0;
    }

    private void Prefault(long pageSize)
    {
        // One write per page commits it now rather than on the first event: no page fault,
        // and no zeroing, ever happens on the hot path.
        byte* p = (byte*)handle;
        for (long offset = 0; offset < (long)_mappedLength; offset += pageSize)
        {
            p[offset] = 0;
        }
    }

    private void TryLock()
    {
        if (Libc.mlock(handle, _mappedLength) == 0)
        {
            IsLocked = true;
            return;
        }

        int errno = Marshal.GetLastPInvokeError();
        ulong limit = MemlockLimit();
        LockWarning = $"could not lock {MappedLength} bytes in memory ({Libc.ErrorText(errno)}; RLIMIT_MEMLOCK is {limit} bytes): " +
            "running unlocked; raise LimitMEMLOCK or grant CAP_IPC_LOCK";
    }

    protected override bool ReleaseHandle()
    {
        if (IsLocked)
        {
            Libc.munlock(handle, _mappedLength);
        }

        return Libc.munmap(handle, _mappedLength) == 0;
    }
}
