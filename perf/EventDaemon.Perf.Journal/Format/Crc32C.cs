using System.Buffers.Binary;
using System.Numerics;

namespace EventDaemon.Perf.Journal.Format;

/// <summary>CRC32C (Castagnoli) with the SSE4.2 / ARMv8 instruction behind <see cref="BitOperations.Crc32C(uint, ulong)"/>.</summary>
internal static class Crc32C
{
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        }

        for (; i < data.Length; i++)
        {
            crc = BitOperations.Crc32C(crc, data[i]);
        }

        return crc;
    }

    /// <summary>The CRC of a record or group header: all of <paramref name="bytes"/> but bytes 4–7, where it is stored.</summary>
    public static uint SkippingField(ReadOnlySpan<byte> bytes) => ~Append(Append(~0u, bytes[..4]), bytes[8..]);
}
