using System.Runtime.InteropServices;
using EventDaemon.Perf.Journal.Internal;
using EventDaemon.Perf.Journal.Interop;

namespace EventDaemon.Perf.Journal.Storage;

/// <summary>
/// The one owner of a <c>MAP_SHARED</c> mapping of a whole segment: it hands out spans of the
/// mapping and syncs ranges of it; the address never leaves this type.
/// </summary>
/// <remarks>
/// Not pre-faulted: the first store to each page faults it in (and marks it dirty through the
/// file system's page_mkwrite), and so does the first store after each sync has cleaned it again.
/// That cost is part of what the mmap write path is measured for.
/// </remarks>
internal sealed unsafe class SegmentMapping : SafeHandle
{
    private readonly nuint _length;
    private readonly long _pageMask;

    private SegmentMapping(nint address, long length)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle(address);
        _length = (nuint)length;
        _pageMask = Environment.SystemPageSize - 1;
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    public static SegmentMapping Map(SegmentFile file)
    {
        nint address = Libc.mmap(0, (nuint)file.Capacity, Libc.ProtRead | Libc.ProtWrite, Libc.MapShared, file.Handle, 0);
        if (address == Libc.MapFailed)
        {
            ThrowHelper.IoFailed("mmap", Marshal.GetLastPInvokeError());
        }

        return new SegmentMapping(address, file.Capacity);
    }

    public Span<byte> Slice(long offset, int length)
    {
        if ((ulong)offset + (ulong)length > _length)
        {
            ThrowHelper.SegmentFull(offset, (long)_length);
        }

        return new Span<byte>((byte*)handle + offset, length);
    }

    /// <summary>msync(MS_SYNC) of the pages holding [<paramref name="from"/>, <paramref name="to"/>):
    /// writes them back and waits, as fdatasync would for the whole file.</summary>
    public void Sync(long from, long to)
    {
        long start = from & ~_pageMask;
        if (Libc.msync(handle + (nint)start, (nuint)(to - start), Libc.MsSync) != 0)
        {
            ThrowHelper.IoFailed("msync", Marshal.GetLastSystemError());
        }
    }

    protected override bool ReleaseHandle() => Libc.munmap(handle, _length) == 0;
}
