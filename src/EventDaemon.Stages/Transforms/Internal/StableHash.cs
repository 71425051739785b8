using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace EventDaemon.Stages.Transforms.Internal;

/// <summary>
/// A 64-bit hash of a byte string that depends only on the bytes and the seed: the same on every
/// run and every machine (unlike <see cref="HashCode"/>, which is seeded per process). Eight bytes
/// per step, with the MurmurHash3 finaliser so that every output bit depends on every input bit:
/// <c>hash % n</c> and <c>hash &amp; mask</c> are both uniform.
/// </summary>
internal static class StableHash
{
    private const ulong Prime1 = 0x9E3779B185EBCA87;
    private const ulong Prime2 = 0xC2B2AE3D27D4EB4F;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Hash(ReadOnlySpan<byte> bytes, ulong seed)
    {
        ulong h = seed ^ ((ulong)bytes.Length * Prime1);
        while (bytes.Length >= 8)
        {
            h ^= Mix(BinaryPrimitives.ReadUInt64LittleEndian(bytes));
            h = (BitOperations.RotateLeft(h, 27) * Prime1) + Prime2;
            bytes = bytes[8..];
        }

        if (!bytes.IsEmpty)
        {
            ulong tail = 0;
            for (int i = 0; i < bytes.Length; i++)
            {
                tail |= (ulong)bytes[i] << (8 * i);
            }

            h ^= Mix(tail);
            h = (BitOperations.RotateLeft(h, 27) * Prime1) + Prime2;
        }

        return Finalise(h);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix(ulong k) => BitOperations.RotateLeft(k * Prime2, 31) * Prime1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Finalise(ulong h) => EventDaemon.Events.Fields.GroupKey.Avalanche(h);
}
