using System.Runtime.CompilerServices;
using EventDaemon.Perf.Journal.Format;
using EventDaemon.Perf.Journal.Interop;
using EventDaemon.Perf.Journal.Storage;

namespace EventDaemon.Perf.Journal.Methods;

/// <summary>
/// (b') No copy in user space at all: one <c>pwritev</c> per group gathers the group header, then
/// for each record its 40-byte header, the event's bytes where they lie in the arena, and the
/// padding. 3 iovecs a record, so a group holds at most 341 records (IOV_MAX is 1,024).
/// </summary>
/// <remarks>
/// The iovecs point into pinned arrays and into the corpus (pinned, as the daemon's arena is
/// native memory): the addresses are valid until the group is written, which is all the kernel
/// needs — <c>pwritev</c> has copied the bytes into the page cache when it returns.
/// </remarks>
internal readonly unsafe struct PwritevGatherMethod(SegmentFile file, byte[] groupHeader, RecordHeader[] headers, Libc.IoVec[] iov)
    : IWriteMethod<PwritevGatherMethod>
{
    /// <summary>IOV_MAX on Linux.</summary>
    private const int MaxIoVecs = 1024;

    public static string Name => "pwritev-gather";

    public static string Description => "pwritev gathering [group header, then per record: header, event bytes in place, padding], pre-zeroed segment";

    public static bool PreZeroed => true;

    public static PwritevGatherMethod Open(SegmentFile file, int maxRecords)
    {
        if (1 + 3 * maxRecords > MaxIoVecs)
        {
            throw new ArgumentOutOfRangeException(nameof(maxRecords), $"{maxRecords} records need more than {MaxIoVecs} iovecs");
        }

        return new(file, GC.AllocateArray<byte>(Format.GroupHeader.Size, pinned: true),
            GC.AllocateArray<RecordHeader>(maxRecords, pinned: true), GC.AllocateArray<Libc.IoVec>(1 + 3 * maxRecords, pinned: true));
    }

    public Span<byte> GroupHeader(long offset) => groupHeader;

    public void PutRecord(long offset, int position, int index, in RecordHeader header, ReadOnlySpan<byte> payload)
    {
        headers[index] = header;
        int padding = Record.Padding(payload.Length);
        ref Libc.IoVec slot = ref iov[1 + 3 * index];
        slot = new Libc.IoVec { Base = Unsafe.AsPointer(ref headers[index]), Length = RecordHeader.Size };
        Unsafe.Add(ref slot, 1) = new Libc.IoVec { Base = Unsafe.AsPointer(ref Unsafe.AsRef(in payload[0])), Length = (nuint)payload.Length };
        Unsafe.Add(ref slot, 2) = new Libc.IoVec { Base = Unsafe.AsPointer(ref Unsafe.AsRef(in Record.Zeros[0])), Length = (nuint)padding };
    }

    public void Write(long offset, int recordBytes, int count)
    {
        iov[0] = new Libc.IoVec { Base = Unsafe.AsPointer(ref groupHeader[0]), Length = Format.GroupHeader.Size };
        file.Write(iov.AsSpan(0, 1 + 3 * count), Format.GroupHeader.Size + recordBytes, offset);
    }

    public void Sync(long from, long to) => file.DataSync();

    public void Close()
    {
    }
}
