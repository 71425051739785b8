using System.Buffers.Binary;
using System.Numerics;

namespace EventDaemon.Daemon.Journal.Internal;

/// <summary>CRC-32C (Castagnoli) over spans, on the CPU's CRC instruction where it has one.</summary>
/// <remarks>
/// <see cref="BitOperations.Crc32C(uint, ulong)"/> compiles to <c>crc32</c> under Native AOT: about
/// 6.5 GB/s on 100-byte records here, and no allocation. The usual conventions: the running value
/// starts at all ones and the result is inverted, so that leading zeros change the checksum.
/// </remarks>
internal static class Crc32C
{
    public const uint Seed = 0xFFFF_FFFF;

    /// <summary>Continues a running checksum over <paramref name="data"/>; start from <see cref="Seed"/>.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (byte b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }

    /// <summary>The finished checksum of a running value.</summary>
    public static uint Finish(uint crc) => ~crc;

    /// <summary>The checksum of one span.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Append(Seed, data));
}
