using System.Runtime.InteropServices;

namespace EventDaemon.Perf.Journal.Format;

/// <summary>One journaled event in a segment: <see cref="RecordHeader"/>, the original bytes, zeros to the next multiple of 8.</summary>
internal static class Record
{
    /// <summary>The padding is read from here: never more than 7 bytes.</summary>
    public static ReadOnlySpan<byte> Zeros => [0, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>Zero bytes that follow an event of <paramref name="length"/> bytes.</summary>
    public static int Padding(int length) => -length & 7;

    /// <summary>The record's CRC32C: every byte of it but the CRC field, computed from the header
    /// and the event's bytes where they lie (the record need not be contiguous yet).</summary>
    public static uint Crc(in RecordHeader header, ReadOnlySpan<byte> payload)
    {
        ReadOnlySpan<byte> head = MemoryMarshal.AsBytes(new ReadOnlySpan<RecordHeader>(in header));
        uint crc = Crc32C.Append(~0u, head[..4]);
        crc = Crc32C.Append(crc, head[8..]);
        crc = Crc32C.Append(crc, payload);
        return ~Crc32C.Append(crc, Zeros[..Padding(payload.Length)]);
    }

    /// <summary>Copies the record to the start of <paramref name="destination"/>.</summary>
    public static void Put(Span<byte> destination, in RecordHeader header, ReadOnlySpan<byte> payload)
    {
        MemoryMarshal.Write(destination, in header);
        payload.CopyTo(destination[RecordHeader.Size..]);
        destination.Slice(RecordHeader.Size + payload.Length, Padding(payload.Length)).Clear();
    }
}
