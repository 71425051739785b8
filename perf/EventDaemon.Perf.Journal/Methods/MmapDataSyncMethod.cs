using EventDaemon.Perf.Journal.Format;
using EventDaemon.Perf.Journal.Storage;

namespace EventDaemon.Perf.Journal.Methods;

/// <summary>(c) Records built straight into a <c>MAP_SHARED</c> mapping of a pre-zeroed segment
/// (no write call at all), made durable with <c>fdatasync</c> of the file.</summary>
internal readonly struct MmapDataSyncMethod(SegmentFile file, SegmentMapping mapping) : IWriteMethod<MmapDataSyncMethod>
{
    public static string Name => "mmap-fdatasync";

    public static string Description => "memcpy into a MAP_SHARED mapping, fdatasync, pre-zeroed segment";

    public static bool PreZeroed => true;

    public static MmapDataSyncMethod Open(SegmentFile file, int maxRecords) => new(file, file.Map());

    public Span<byte> GroupHeader(long offset) => mapping.Slice(offset, Format.GroupHeader.Size);

    public void PutRecord(long offset, int position, int index, in RecordHeader header, ReadOnlySpan<byte> payload) =>
        Record.Put(mapping.Slice(offset + Format.GroupHeader.Size + position, EventCorpus.RecordBytes), in header, payload);

    public void Write(long offset, int recordBytes, int count)
    {
    }

    public void Sync(long from, long to) => file.DataSync();

    public void Close() => mapping.Dispose();
}
