using EventDaemon.Perf.Journal.Format;
using EventDaemon.Perf.Journal.Storage;

namespace EventDaemon.Perf.Journal.Methods;

/// <summary>
/// How a group reaches the segment. The writer hands each record over with its header already
/// made (CRC included) and the event's bytes where they lie, then builds the group header in the
/// span this hands out and calls <see cref="Write"/>; the syncer calls <see cref="Sync"/>. A method
/// copies the record where it wants it, or only remembers where it is. Implemented by structs, taken as a
/// generic parameter, so that the AOT compiler inlines the method into the writer loop.
/// </summary>
internal interface IWriteMethod<TSelf>
    where TSelf : struct, IWriteMethod<TSelf>
{
    /// <summary>Name in the results (a file name part: no spaces).</summary>
    static abstract string Name { get; }

    /// <summary>What the method does, for the table.</summary>
    static abstract string Description { get; }

    /// <summary>Whether the method needs its segment zeroed ahead.</summary>
    static abstract bool PreZeroed { get; }

    /// <summary>Prepares the method's buffers or mapping for <paramref name="file"/>, for groups of at most <paramref name="maxRecords"/> records.</summary>
    static abstract TSelf Open(SegmentFile file, int maxRecords);

    /// <summary>Where the 32-byte header of the group at <paramref name="offset"/> is built.</summary>
    Span<byte> GroupHeader(long offset);

    /// <summary>Puts record <paramref name="index"/> of the group at <paramref name="offset"/>,
    /// <paramref name="position"/> bytes past the group header: its header, the event's bytes,
    /// zeros to the next multiple of 8.</summary>
    void PutRecord(long offset, int position, int index, in RecordHeader header, ReadOnlySpan<byte> payload);

    /// <summary>Hands the group at <paramref name="offset"/> (header, then <paramref name="count"/>
    /// records, <paramref name="recordBytes"/> in all) to the kernel.</summary>
    void Write(long offset, int recordBytes, int count);

    /// <summary>Makes [<paramref name="from"/>, <paramref name="to"/>) of the segment durable; everything before <paramref name="from"/> already is.</summary>
    void Sync(long from, long to);

    /// <summary>Releases what <see cref="Open"/> made (the segment itself belongs to the caller).</summary>
    void Close();
}
