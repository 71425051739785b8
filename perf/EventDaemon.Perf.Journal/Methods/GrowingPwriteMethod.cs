using EventDaemon.Perf.Journal.Format;
using EventDaemon.Perf.Journal.Storage;

namespace EventDaemon.Perf.Journal.Methods;

/// <summary>(d) As <see cref="PwriteMethod"/>, into a file that grows with each write instead of
/// one zeroed ahead: what the journal would pay without preparing its segments (every sync then
/// also commits the new size and the blocks just allocated).</summary>
internal readonly struct GrowingPwriteMethod(SegmentFile file, byte[] staging) : IWriteMethod<GrowingPwriteMethod>
{
    public static string Name => "pwrite-growing";

    public static string Description => "pwrite of each group, appending to a growing (not pre-zeroed) file";

    public static bool PreZeroed => false;

    public static GrowingPwriteMethod Open(SegmentFile file, int maxRecords) =>
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
