using System.Buffers.Binary;
using System.Runtime.InteropServices;
using EventDaemon.Perf.Journal.Storage;

namespace EventDaemon.Perf.Journal.Format;

/// <summary>
/// Reads a segment back after a run, through the file (not the writer's buffers or mapping): every
/// group header and every record CRC must check, sequences must run on without a gap, each event's
/// bytes must be the ones the writer was given, and the groups must end exactly where the writer
/// says it stopped. A method that wrote fast but wrong fails the run instead of winning it.
/// </summary>
internal static class SegmentVerifier
{
    /// <summary>Returns null when the first <paramref name="end"/> bytes hold exactly
    /// <paramref name="records"/> good records, else what is wrong and where.</summary>
    public static string? Verify(SegmentFile file, long end, long records, EventCorpus corpus)
    {
        Span<byte> head = stackalloc byte[GroupHeader.Size];
        var body = new byte[64 * 1024];
        long offset = 0, sequence = 0;
        while (offset < end)
        {
            if (RandomAccess.Read(file.Handle, head, offset) != head.Length)
            {
                return $"offset {offset}: short read of a group header";
            }

            GroupHeader group = MemoryMarshal.Read<GroupHeader>(head);
            if (group.Magic != GroupHeader.MagicValue || group.Crc != Crc32C.SkippingField(head))
            {
                return $"offset {offset}: bad group header (magic {group.Magic:x8})";
            }

            if (group.FirstSequence != sequence || group.RecordBytes != group.RecordCount * EventCorpus.RecordBytes || group.RecordBytes > body.Length)
            {
                return $"offset {offset}: group of {group.RecordCount} records from {group.FirstSequence}, {sequence} expected";
            }

            Span<byte> recordBytes = body.AsSpan(0, (int)group.RecordBytes);
            if (RandomAccess.Read(file.Handle, recordBytes, offset + GroupHeader.Size) != recordBytes.Length)
            {
                return $"offset {offset}: short read of {group.RecordCount} records";
            }

            for (int i = 0; i < group.RecordCount; i++, sequence++)
            {
                ReadOnlySpan<byte> record = recordBytes.Slice(i * EventCorpus.RecordBytes, EventCorpus.RecordBytes);
                RecordHeader header = MemoryMarshal.Read<RecordHeader>(record);
                ReadOnlySpan<byte> payload = record.Slice(RecordHeader.Size, (int)Math.Min(header.Length, EventCorpus.EventBytes));
                if (header.Sequence != sequence || header.Length != EventCorpus.EventBytes
                    || header.Crc != Record.Crc(in header, payload) || !payload.SequenceEqual(corpus.Event(sequence)))
                {
                    return $"offset {offset}: record {i} of the group (sequence {header.Sequence}, {sequence} expected) does not check";
                }
            }

            offset += GroupHeader.Size + group.RecordBytes;
        }

        if (offset != end || sequence != records)
        {
            return $"groups end at {offset} with {sequence} records; the writer wrote {records} records to {end}";
        }

        // A pre-zeroed segment reads as zeros past the last group: the next reader's end marker.
        if (file.PreZeroed && end + GroupHeader.Size <= file.Capacity
            && (RandomAccess.Read(file.Handle, head, end) != head.Length || BinaryPrimitives.ReadUInt32LittleEndian(head) != 0))
        {
            return $"offset {end}: the bytes after the last group are not zero";
        }

        return null;
    }
}
