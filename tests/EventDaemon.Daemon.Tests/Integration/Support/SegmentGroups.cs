using System.Buffers.Binary;
using EventDaemon.Daemon.Journal;

namespace EventDaemon.Daemon.Tests.Integration.Support;

/// <summary>One group of a segment as it lies on disk: where it starts, its first sequence, and where each record starts.</summary>
internal sealed record SegmentGroup(long Offset, long FirstSequence, long[] RecordOffsets)
{
    public int Records => RecordOffsets.Length;

    /// <summary>One past the group's last byte.</summary>
    public long End { get; init; }
}

/// <summary>
/// Walks a segment's groups by the byte layout of JOURNAL.md alone (no CRC checks, none of the
/// daemon's reader), so a damage test can say where to strike and which sequences that must cost
/// without asking the code it tests.
/// </summary>
internal static class SegmentGroups
{
    public static List<SegmentGroup> Read(string segment)
    {
        byte[] bytes = File.ReadAllBytes(segment);
        var groups = new List<SegmentGroup>();
        long position = JournalLayout.SegmentHeaderBytes;
        while (position + JournalLayout.GroupHeaderBytes <= bytes.Length)
        {
            ReadOnlySpan<byte> header = bytes.AsSpan((int)position, JournalLayout.GroupHeaderBytes);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) != JournalLayout.GroupMagic)
            {
                break;
            }

            int records = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
            int recordBytes = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
            long first = BinaryPrimitives.ReadInt64LittleEndian(header[16..]);
            var offsets = new long[records];
            long record = position + JournalLayout.GroupHeaderBytes;
            for (int i = 0; i < records; i++)
            {
                offsets[i] = record;
                record += JournalLayout.RecordBytes(BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan((int)record, 4)));
            }

            long end = position + JournalLayout.GroupHeaderBytes + recordBytes;
            groups.Add(new SegmentGroup(position, first, offsets) { End = end });
            position = end;
        }

        return groups;
    }

    /// <summary>The journal's segments, oldest first (their names are their first sequences, zero-padded).</summary>
    public static string[] Segments(string journal) => [.. Directory.GetFiles(journal, "*.journal").Order(StringComparer.Ordinal)];

    /// <summary>A segment's first sequence, from its name.</summary>
    public static long FirstSequence(string segment) => long.Parse(Path.GetFileNameWithoutExtension(segment), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Overwrites <paramref name="count"/> bytes at <paramref name="offset"/> with zeros: a write that did not reach the disk.</summary>
    public static void Zero(string path, long offset, int count)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.Position = offset;
        file.Write(new byte[count]);
    }
}
