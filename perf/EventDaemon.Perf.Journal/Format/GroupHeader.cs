using System.Runtime.InteropServices;

namespace EventDaemon.Perf.Journal.Format;

/// <summary>
/// The 32 bytes in front of each flush: a reader that finds a corrupt record skips to the next
/// magic whose header CRC matches and carries on from there (SPEC §7, "Damage").
/// </summary>
/// <remarks>The CRC32C covers bytes 8–31 of the header; each record carries its own.</remarks>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct GroupHeader
{
    public const int Size = 32;

    /// <summary>"EVJG" little-endian: never the first bytes of a record, whose length is below 64 KiB.</summary>
    public const uint MagicValue = 0x474A5645;

    [FieldOffset(0)]
    public uint Magic;

    [FieldOffset(4)]
    public uint Crc;

    [FieldOffset(8)]
    public long FirstSequence;

    [FieldOffset(16)]
    public uint RecordCount;

    /// <summary>Bytes of records that follow the header.</summary>
    [FieldOffset(20)]
    public uint RecordBytes;

    /// <summary>CLOCK_MONOTONIC when the writer started the group: the benchmark's time-to-durable starts here.</summary>
    [FieldOffset(24)]
    public long WriteTimeNs;
}
