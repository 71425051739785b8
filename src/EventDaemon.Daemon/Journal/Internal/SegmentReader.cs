using System.Buffers.Binary;
using EventDaemon.Daemon.Interop;

namespace EventDaemon.Daemon.Journal.Internal;

/// <summary>What <see cref="SegmentReader.Next"/> found at the reader's position.</summary>
internal enum GroupRead
{
    /// <summary>An intact group header and its records' bytes (the records are checked one by one).</summary>
    Group,

    /// <summary>Nothing more was written in this segment.</summary>
    End,

    /// <summary>Bytes that are not a group; the reader has moved past them to the next intact group header.</summary>
    Damaged,
}

/// <summary>Reads one segment group by group with <c>pread</c>, resynchronising on group headers after damage.</summary>
/// <remarks>
/// A group belongs to the segment only if its first sequence is above the last sequence of the group
/// before it (for the first group: at or above the segment header's first sequence). Sequences only
/// grow, and a recycled segment's leftovers come from an older segment, so every group left over
/// carries sequences below the header's first: the reader ends at the first bytes that are not a group
/// of this segment unless one follows further on (then the bytes between are damage). A torn group
/// after a restart cannot be mistaken either: start-up recovery zeroes every group it found past the
/// last whole one, and any group left over from before it carries sequences at or below that one.
/// </remarks>
internal sealed class SegmentReader : IDisposable
{
    private const int ScanChunkBytes = 1 << 20;

    private readonly int _fd;
    private byte[] _buffer = new byte[64 * 1024];

    // The last sequence of the last group read: a group belongs to the segment only if it starts above it.
    private long _previousLast;

    private SegmentReader(int fd, string path, long segmentBytes, long firstSequence, bool recycled, long length)
    {
        _fd = fd;
        Path = path;
        SegmentBytes = segmentBytes;
        FirstSequence = firstSequence;
        Recycled = recycled;
        _previousLast = firstSequence - 1;
        Limit = Math.Min(length, segmentBytes);
        Position = JournalLayout.SegmentHeaderBytes;
    }

    public string Path { get; }

    public long SegmentBytes { get; }

    public long FirstSequence { get; }

    /// <summary>The segment was an older one, reused: the bytes after its last group are leftovers, not zeros.</summary>
    public bool Recycled { get; }

    /// <summary>Where the next group header is expected.</summary>
    public long Position { get; private set; }

    /// <summary>Bytes of the file that belong to the segment.</summary>
    public long Limit { get; }

    /// <summary>After <see cref="GroupRead.Damaged"/>: where the damage began.</summary>
    public long DamageStart { get; private set; }

    /// <summary>
    /// After <see cref="GroupRead.End"/>: the end of the last non-zero bytes past the position (the
    /// position itself when all is zero, and always in a recycled segment, whose leftovers are not a torn write).
    /// </summary>
    public long DirtyEnd { get; private set; }

    /// <summary>Opens a segment and checks its header; null with the reason when it is not one.</summary>
    public static SegmentReader? Open(string path, out string? problem)
    {
        int fd = SegmentFile.OpenFd(path, Libc.OReadOnly | Libc.OCloseOnExec, out int errno);
        if (fd < 0)
        {
            problem = $"cannot open: {JournalWriter.Errno(errno)}";
            return null;
        }

        Span<byte> header = stackalloc byte[JournalLayout.SegmentHeaderBytes];
        long length = new FileInfo(path).Length;
        if (SegmentFile.ReadAt(fd, header, 0) != header.Length
            || !JournalLayout.TryReadSegmentHeader(header, out long segmentBytes, out long first, out uint flags))
        {
            Libc.close(fd);
            problem = "the segment header is damaged";
            return null;
        }

        problem = null;
        return new SegmentReader(fd, path, segmentBytes, first, (flags & JournalLayout.SegmentRecycled) != 0, length);
    }

    /// <summary>Reads the group at <see cref="Position"/>; <paramref name="records"/> is valid until the next call.</summary>
    public GroupRead Next(out GroupHeader header, out ReadOnlySpan<byte> records)
    {
        records = default;
        header = default;
        if (Position + JournalLayout.GroupHeaderBytes > Limit)
        {
            DirtyEnd = Position;
            return GroupRead.End;
        }

        Span<byte> head = stackalloc byte[JournalLayout.GroupHeaderBytes];
        if (SegmentFile.ReadAt(_fd, head, Position) == head.Length
            && JournalLayout.TryReadGroupHeader(head, out header)
            && header.FirstSequence > _previousLast
            && Position + JournalLayout.GroupHeaderBytes + header.RecordBytes <= Limit)
        {
            if (_buffer.Length < header.RecordBytes)
            {
                _buffer = new byte[header.RecordBytes];
            }

            Span<byte> body = _buffer.AsSpan(0, header.RecordBytes);
            if (SegmentFile.ReadAt(_fd, body, Position + JournalLayout.GroupHeaderBytes) == body.Length)
            {
                Position += JournalLayout.GroupHeaderBytes + header.RecordBytes;
                _previousLast = header.LastSequence;
                records = body;
                return GroupRead.Group;
            }
        }

        // Not a group of this segment here: zeros, or an older segment's leftovers, end the segment
        // unless a group of this segment follows somewhere after them.
        header = default;
        long start = Position;
        long next = FindGroup(start + JournalLayout.Alignment, out long dirtyEnd);
        if (next < 0)
        {
            // In a recycled segment, bytes that are not a group cannot be told from leftovers; none
            // can be read as a record of this segment, so nothing after the last group is damage.
            DirtyEnd = Recycled ? start : dirtyEnd;
            if (DirtyEnd == start)
            {
                return GroupRead.End;
            }

            DamageStart = start;
            Position = Limit;
            return GroupRead.Damaged;
        }

        DamageStart = start;
        Position = next;
        return GroupRead.Damaged;
    }

    /// <summary>
    /// The first offset at or after <paramref name="from"/> holding an intact group header of this segment, or -1;
    /// and the end of the last non-zero 8 bytes scanned (or the start of the scan when none).
    /// </summary>
    private long FindGroup(long from, out long dirtyEnd)
    {
        dirtyEnd = from - JournalLayout.Alignment;
        if (_buffer.Length < ScanChunkBytes + JournalLayout.GroupHeaderBytes)
        {
            _buffer = new byte[ScanChunkBytes + JournalLayout.GroupHeaderBytes];
        }

        // The bytes at the damaged position itself count as dirty if non-zero.
        Span<byte> first = stackalloc byte[JournalLayout.Alignment];
        if (SegmentFile.ReadAt(_fd, first, from - JournalLayout.Alignment) == first.Length && BinaryPrimitives.ReadUInt64LittleEndian(first) != 0)
        {
            dirtyEnd = from;
        }

        for (long chunk = from; chunk < Limit; chunk += ScanChunkBytes)
        {
            // Each chunk reads a header's length further, so a header across the boundary is seen whole.
            int length = (int)Math.Min(ScanChunkBytes + JournalLayout.GroupHeaderBytes, Limit - chunk);
            Span<byte> bytes = _buffer.AsSpan(0, length);
            if (SegmentFile.ReadAt(_fd, bytes, chunk) != length)
            {
                return -1;
            }

            int scan = Math.Min(ScanChunkBytes, length);
            for (int at = 0; at + JournalLayout.Alignment <= scan; at += JournalLayout.Alignment)
            {
                ulong word = BinaryPrimitives.ReadUInt64LittleEndian(bytes[at..]);
                if (word == 0)
                {
                    continue;
                }

                if ((uint)word == JournalLayout.GroupMagic
                    && at + JournalLayout.GroupHeaderBytes <= length
                    && JournalLayout.TryReadGroupHeader(bytes[at..], out GroupHeader header)
                    && header.FirstSequence > _previousLast
                    && chunk + at + JournalLayout.GroupHeaderBytes + header.RecordBytes <= Limit)
                {
                    return chunk + at;
                }

                dirtyEnd = chunk + at + JournalLayout.Alignment;
            }
        }

        return -1;
    }

    public void Dispose() => Libc.close(_fd);
}
