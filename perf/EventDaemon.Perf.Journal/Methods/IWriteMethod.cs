using EventDaemon.Perf.Journal.Storage;

namespace EventDaemon.Perf.Journal.Methods;

/// <summary>
/// How a group reaches the segment. The writer builds each group in the spans this hands out
/// (header and records apart, so that a method may keep them in different places), then calls
/// <see cref="Write"/>; the syncer calls <see cref="Sync"/>. Implemented by structs, taken as a
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

    /// <summary>Prepares the method's buffers or mapping for <paramref name="file"/>, for groups of at most <paramref name="maxRecordBytes"/> of records.</summary>
    static abstract TSelf Open(SegmentFile file, int maxRecordBytes);

    /// <summary>Where the 32-byte header of the group at <paramref name="offset"/> is built.</summary>
    Span<byte> GroupHeader(long offset);

    /// <summary>Where the records of the group at <paramref name="offset"/> are built: <paramref name="length"/> bytes.</summary>
    Span<byte> Records(long offset, int length);

    /// <summary>Hands the group at <paramref name="offset"/> (header, then <paramref name="recordBytes"/> of records) to the kernel.</summary>
    void Write(long offset, int recordBytes);

    /// <summary>Makes [<paramref name="from"/>, <paramref name="to"/>) of the segment durable; everything before <paramref name="from"/> already is.</summary>
    void Sync(long from, long to);

    /// <summary>Releases what <see cref="Open"/> made (the segment itself belongs to the caller).</summary>
    void Close();
}
