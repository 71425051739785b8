using EventDaemon.Perf.Journal.Storage;

namespace EventDaemon.Perf.Journal.Methods;

/// <summary>(b) The group header and the records in separate buffers, written together with one
/// <c>pwritev</c> of two iovecs: the records are never copied behind a header.</summary>
internal readonly struct PwritevMethod(SegmentFile file, byte[] header, byte[] records) : IWriteMethod<PwritevMethod>
{
    public static string Name => "pwritev";

    public static string Description => "pwritev of [group header, records] as two iovecs, pre-zeroed segment";

    public static bool PreZeroed => true;

    public static PwritevMethod Open(SegmentFile file, int maxRecordBytes) =>
        new(file, GC.AllocateArray<byte>(Format.GroupHeader.Size, pinned: true), GC.AllocateArray<byte>(maxRecordBytes, pinned: true));

    public Span<byte> GroupHeader(long offset) => header;

    public Span<byte> Records(long offset, int length) => records.AsSpan(0, length);

    public void Write(long offset, int recordBytes) => file.Write(header, records.AsSpan(0, recordBytes), offset);

    public void Sync(long from, long to) => file.DataSync();

    public void Close()
    {
    }
}
