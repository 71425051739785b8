using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EventDaemon.Daemon.Journal.Internal;

namespace EventDaemon.Daemon.Journal;

/// <summary>
/// The journal's bytes on disk, documented in <c>Journal/JOURNAL.md</c>. All integers are little-endian;
/// everything starts on an 8-byte boundary.
/// </summary>
/// <remarks>
/// A segment is a file of fixed size, zeroed (or recycled from an older segment) before its first record is written:
/// <code>
/// segment header (64 B) | group | group | … | zeros to the end
/// group   = group header (32 B) | record | record | …     one write, one commit
/// record  = record header (40 B) | original bytes | zero padding to 8
/// </code>
/// A reader needs nothing but the bytes: zeros where a group header should be is the end of what was
/// written, and a group belongs to the segment only if its first sequence follows the previous
/// group's last (the header's first sequence for the first group), so a recycled segment's leftover
/// groups, whose sequences are all older, never read as records; a group header carries a magic and its own CRC, so after damage a reader resynchronises
/// on the next one; each record carries a CRC of its header and bytes.
/// </remarks>
public static class JournalLayout
{
    /// <summary>"EVJOURN1".</summary>
    public const ulong SegmentMagic = 0x314E_5255_4F4A_5645;

    public const uint Version = 1;

    public const int SegmentHeaderBytes = 64;

    /// <summary>"RGRP": chosen so that no run of zeros, ASCII text or small integers reads as one.</summary>
    public const uint GroupMagic = 0x5052_4752;

    public const int GroupHeaderBytes = 32;

    public const int RecordHeaderBytes = 40;

    public const int Alignment = 8;

    /// <summary>The smallest segment: one group of one largest event must fit, with room to spare.</summary>
    public const long MinSegmentBytes = 1L << 20;

    /// <summary>Bytes a record of <paramref name="payloadBytes"/> takes, padding included.</summary>
    public static int RecordBytes(int payloadBytes) => Align(RecordHeaderBytes + payloadBytes);

    public static int Align(int bytes) => (bytes + (Alignment - 1)) & ~(Alignment - 1);

    /// <summary>A segment file's name: its first sequence, zero-padded so names sort in sequence order.</summary>
    public static string SegmentName(long firstSequence) =>
        firstSequence.ToString("D20", System.Globalization.CultureInfo.InvariantCulture) + ".journal";

    /// <summary>
    /// Segment flag: the file was an older segment before this one (recycled, not zeroed), so the bytes
    /// after the last group are that segment's leftovers, not zeros. Journals written before the flag
    /// existed have it clear, which is right: their segments were all zeroed.
    /// </summary>
    public const uint SegmentRecycled = 1;

    internal static void WriteSegmentHeader(Span<byte> header, long segmentBytes, long firstSequence, uint flags = 0)
    {
        header[..SegmentHeaderBytes].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(header, SegmentMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], flags);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], segmentBytes);
        BinaryPrimitives.WriteInt64LittleEndian(header[24..], firstSequence);
        BinaryPrimitives.WriteUInt32LittleEndian(header[60..], Crc32C.Compute(header[..60]));
    }

    internal static bool TryReadSegmentHeader(ReadOnlySpan<byte> header, out long segmentBytes, out long firstSequence) =>
        TryReadSegmentHeader(header, out segmentBytes, out firstSequence, out _);

    internal static bool TryReadSegmentHeader(ReadOnlySpan<byte> header, out long segmentBytes, out long firstSequence, out uint flags)
    {
        segmentBytes = 0;
        firstSequence = 0;
        flags = 0;
        if (header.Length < SegmentHeaderBytes
            || BinaryPrimitives.ReadUInt64LittleEndian(header) != SegmentMagic
            || BinaryPrimitives.ReadUInt32LittleEndian(header[8..]) != Version
            || BinaryPrimitives.ReadUInt32LittleEndian(header[60..]) != Crc32C.Compute(header[..60]))
        {
            return false;
        }

        segmentBytes = BinaryPrimitives.ReadInt64LittleEndian(header[16..]);
        firstSequence = BinaryPrimitives.ReadInt64LittleEndian(header[24..]);
        flags = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
        return true;
    }

    /// <summary>Group flag: a repair removed damaged records just before this group; the sequence gap it leaves was counted then.</summary>
    public const uint GroupAfterRepairedGap = 1;

    internal static void WriteGroupHeader(Span<byte> header, int records, int recordBytes, long firstSequence, long lastSequence, uint flags = 0)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(header, GroupMagic);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], records);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], recordBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], flags);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], firstSequence);
        // The last sequence as an offset from the first: sequences need not be consecutive.
        BinaryPrimitives.WriteInt32LittleEndian(header[24..], checked((int)(lastSequence - firstSequence)));
        BinaryPrimitives.WriteUInt32LittleEndian(header[28..], Crc32C.Compute(header[..28]));
    }

    /// <summary>Reads a group header whose magic and CRC hold and whose size is plausible.</summary>
    internal static bool TryReadGroupHeader(ReadOnlySpan<byte> header, out GroupHeader group)
    {
        group = default;
        if (header.Length < GroupHeaderBytes
            || BinaryPrimitives.ReadUInt32LittleEndian(header) != GroupMagic
            || BinaryPrimitives.ReadUInt32LittleEndian(header[28..]) != Crc32C.Compute(header[..28]))
        {
            return false;
        }

        int records = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        int bytes = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        int span = BinaryPrimitives.ReadInt32LittleEndian(header[24..]);
        if (records <= 0 || bytes < records * RecordHeaderBytes || (bytes & (Alignment - 1)) != 0 || span < 0)
        {
            return false;
        }

        long first = BinaryPrimitives.ReadInt64LittleEndian(header[16..]);
        group = new GroupHeader(records, bytes, first, first + span, BinaryPrimitives.ReadUInt32LittleEndian(header[12..]));
        return true;
    }

    /// <summary>Writes one record at the start of <paramref name="destination"/>; returns its size, padding included.</summary>
    /// <remarks>
    /// The journal stage's cost per event, so written for it: one bounds check for the whole record; the
    /// padding cleared by one 8-byte store of zeros at the record's last word before the bytes are
    /// copied over its start (a record is at least 40 bytes, so that word never comes before the
    /// header's last, which is stored after it); the header stored word by word and checksummed from
    /// the same registers; then the event's bytes copied and checksummed in one pass
    /// (<see cref="Crc32C.CopyAndAppend"/>). The bytes are exactly those <see cref="RecordCrc"/> checks.
    /// </remarks>
    internal static int WriteRecord(Span<byte> destination, in JournalEntry entry, ReadOnlySpan<byte> payload)
    {
        int size = RecordBytes(payload.Length);
        Span<byte> record = destination[..size];
        ref byte at = ref MemoryMarshal.GetReference(record);
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref at, size - Alignment), 0UL);
        uint length = (uint)payload.Length;
        ulong sequence = (ulong)entry.Sequence;
        ulong eventNanos = (ulong)entry.EventNanos;
        ulong ingestNanos = (ulong)entry.IngestNanos;
        // Source, flags and the zero word after them: one 8-byte store, one CRC step.
        ulong sourceAndFlags = entry.Source | ((ulong)entry.Flags << 16);
        WriteLittleEndian(ref at, 0, length);
        WriteLittleEndian(ref at, 8, sequence);
        WriteLittleEndian(ref at, 16, eventNanos);
        WriteLittleEndian(ref at, 24, ingestNanos);
        WriteLittleEndian(ref at, 32, sourceAndFlags);
        uint crc = Crc32C.AppendUInt32(Crc32C.Seed, length);
        crc = Crc32C.AppendUInt64(crc, sequence);
        crc = Crc32C.AppendUInt64(crc, eventNanos);
        crc = Crc32C.AppendUInt64(crc, ingestNanos);
        crc = Crc32C.AppendUInt64(crc, sourceAndFlags);
        crc = Crc32C.CopyAndAppend(crc, payload, record[RecordHeaderBytes..]);
        WriteLittleEndian(ref at, 4, Crc32C.Finish(crc));
        return size;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteLittleEndian(ref byte record, int offset, ulong value) =>
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref record, offset), BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteLittleEndian(ref byte record, int offset, uint value) =>
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref record, offset), BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value));

    /// <summary>
    /// Reads the record at the start of <paramref name="source"/>, if its length fits and its CRC holds.
    /// </summary>
    internal static bool TryReadRecord(ReadOnlySpan<byte> source, out JournalEntry entry, out ReadOnlySpan<byte> payload, out int size)
    {
        entry = default;
        payload = default;
        size = 0;
        if (source.Length < RecordHeaderBytes)
        {
            return false;
        }

        int length = BinaryPrimitives.ReadInt32LittleEndian(source);
        if (length < 0 || length > source.Length - RecordHeaderBytes
            || BinaryPrimitives.ReadUInt32LittleEndian(source[4..]) != RecordCrc(source, length))
        {
            return false;
        }

        entry = new JournalEntry(
            BinaryPrimitives.ReadInt64LittleEndian(source[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(source[16..]),
            BinaryPrimitives.ReadInt64LittleEndian(source[24..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[32..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[34..]));
        payload = source.Slice(RecordHeaderBytes, length);
        size = Math.Min(RecordBytes(length), source.Length);
        return true;
    }

    /// <summary>The CRC covers the length, the header after the CRC field, and the bytes.</summary>
    /// <remarks>The length is the record's first four bytes, so one 4-byte CRC step on its value.</remarks>
    private static uint RecordCrc(ReadOnlySpan<byte> record, int payloadBytes)
    {
        uint crc = Crc32C.AppendUInt32(Crc32C.Seed, BinaryPrimitives.ReadUInt32LittleEndian(record));
        return Crc32C.Finish(Crc32C.Append(crc, record[8..(RecordHeaderBytes + payloadBytes)]));
    }
}

/// <summary>What one record says about its event, besides the event's bytes.</summary>
public readonly record struct JournalEntry(long Sequence, long EventNanos, long IngestNanos, ushort Source, ushort Flags);

/// <summary>A group header that read back intact.</summary>
public readonly record struct GroupHeader(int Records, int RecordBytes, long FirstSequence, long LastSequence, uint Flags);
