using EventDaemon.Perf.Journal.Format;
using EventDaemon.Perf.Journal.Storage;

namespace EventDaemon.Perf.Journal.Methods;

/// <summary>(b) The group header and the records in separate buffers, written together with one
/// <c>pwritev</c> of two iovecs: the records are never copied behind a header.</summary>
internal readonly struct PwritevMethod(SegmentFile file, byte[] header, byte[] records) : IWriteMethod<PwritevMethod>
{
    public static string Name => "pwritev";

    public static string Description => "pwritev of [group header, records] as two iovecs, pre-zeroed segment";

    public static bool PreZeroed => true;

    public static PwritevMethod Open(SegmentFile file, int maxRecords) =>
        new(file, GC.AllocateArray<byte>(Format.GroupHeader.Size, pinned: true), GC.AllocateArray<byte>(maxRecords * EventCorpus.RecordBytes, pinned: true));

    public Span<byte> GroupHeader(long offset) => header;

    public void PutRecord(long offset, int position, int index, in RecordHeader header, ReadOnlySpan<byte> payload) =>
        Record.Put(records.AsSpan(position), in header, payload);

    public void Write(long offset, int recordBytes, int count) => file.Write(header, records.AsSpan(0, recordBytes), offset);

    public void Sync(long from, long to) => file.DataSync();

    public void Close()
    {
    }
}
