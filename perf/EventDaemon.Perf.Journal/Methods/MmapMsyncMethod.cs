using EventDaemon.Perf.Journal.Format;
using EventDaemon.Perf.Journal.Storage;

namespace EventDaemon.Perf.Journal.Methods;

/// <summary>(c') As <see cref="MmapDataSyncMethod"/>, made durable with <c>msync(MS_SYNC)</c> of the
/// dirty range only.</summary>
internal readonly struct MmapMsyncMethod(SegmentMapping mapping) : IWriteMethod<MmapMsyncMethod>
{
    public static string Name => "mmap-msync";

    public static string Description => "memcpy into a MAP_SHARED mapping, msync(MS_SYNC) of the dirty range, pre-zeroed segment";

    public static bool PreZeroed => true;

    public static MmapMsyncMethod Open(SegmentFile file, int maxRecords) => new(file.Map());

    public Span<byte> GroupHeader(long offset) => mapping.Slice(offset, Format.GroupHeader.Size);

    public void PutRecord(long offset, int position, int index, in RecordHeader header, ReadOnlySpan<byte> payload) =>
        Record.Put(mapping.Slice(offset + Format.GroupHeader.Size + position, EventCorpus.RecordBytes), in header, payload);

    public void Write(long offset, int recordBytes, int count)
    {
    }

    public void Sync(long from, long to) => mapping.Sync(from, to);

    public void Close() => mapping.Dispose();
}
