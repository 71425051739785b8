using System.Runtime.InteropServices;

namespace EventDaemon.Perf.Journal.Format;

/// <summary>
/// The 40 bytes in front of each journaled event, as SPEC §7 lists them; the original bytes follow,
/// padded to 8 so that the next header is aligned. Little-endian, as it is written.
/// </summary>
/// <remarks>The CRC32C covers every byte of the record except its own field (bytes 4–7).</remarks>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct RecordHeader
{
    public const int Size = 40;

    /// <summary>Bytes of the original event, padding excluded.</summary>
    [FieldOffset(0)]
    public uint Length;

    [FieldOffset(4)]
    public uint Crc;

    [FieldOffset(8)]
    public long Sequence;

    [FieldOffset(16)]
    public long EventTimeNs;

    [FieldOffset(24)]
    public long IngestTimeNs;

    [FieldOffset(32)]
    public uint Source;

    // padding: bytes 36–39 keep the header a multiple of 8; zero.
    [FieldOffset(36)]
    public uint Reserved;

    /// <summary>Bytes a record of <paramref name="length"/> original bytes takes in a segment.</summary>
    public static int RecordBytes(int length) => Size + ((length + 7) & ~7);
}
