using EventDaemon.Perf.Journal.Format;
using EventDaemon.Perf.Journal.Storage;

namespace EventDaemon.Perf.Journal.Methods;

/// <summary>(d) <see cref="PwriteMethod"/>'s writes, into a file that grows with each write instead of
/// one zeroed ahead: what the journal would pay without preparing its segments (every sync then
/// also commits the new size and the blocks just allocated).</summary>
internal readonly struct GrowingPwriteMethod(PwriteMethod pwrite) : IWriteMethod<GrowingPwriteMethod>
{
    public static string Name => "pwrite-growing";

    public static string Description => "pwrite of each group, appending to a growing (not pre-zeroed) file";

    public static bool PreZeroed => false;

    public static GrowingPwriteMethod Open(SegmentFile file, int maxRecords) => new(PwriteMethod.Open(file, maxRecords));

    public Span<byte> GroupHeader(long offset) => pwrite.GroupHeader(offset);

    public void PutRecord(long offset, int position, int index, in RecordHeader header, ReadOnlySpan<byte> payload) =>
        pwrite.PutRecord(offset, position, index, in header, payload);

    public void Write(long offset, int recordBytes, int count) => pwrite.Write(offset, recordBytes, count);

    public void Sync(long from, long to) => pwrite.Sync(from, to);

    public void Close() => pwrite.Close();
}
