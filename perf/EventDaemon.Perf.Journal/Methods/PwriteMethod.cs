using EventDaemon.Perf.Journal.Format;
using EventDaemon.Perf.Journal.Storage;

namespace EventDaemon.Perf.Journal.Methods;

/// <summary>(a) Each group built in one staging buffer, header in front, and written with one
/// <c>pwrite</c> at the current offset of a segment zeroed ahead.</summary>
internal readonly struct PwriteMethod(SegmentFile file, byte[] staging) : IWriteMethod<PwriteMethod>
{
    public static string Name => "pwrite";

    public static string Description => "pwrite of each group (header + records in one buffer), pre-zeroed segment";

    public static bool PreZeroed => true;

    public static PwriteMethod Open(SegmentFile file, int maxRecords) =>
        new(file, GC.AllocateArray<byte>(Format.GroupHeader.Size + maxRecords * EventCorpus.RecordBytes, pinned: true));

    public Span<byte> GroupHeader(long offset) => staging.AsSpan(0, Format.GroupHeader.Size);

    public void PutRecord(long offset, int position, int index, in RecordHeader header, ReadOnlySpan<byte> payload) =>
        Record.Put(staging.AsSpan(Format.GroupHeader.Size + position), in header, payload);

    public void Write(long offset, int recordBytes, int count) => file.Write(staging.AsSpan(0, Format.GroupHeader.Size + recordBytes), offset);

    public void Sync(long from, long to) => file.DataSync();

    public void Close()
    {
    }
}
