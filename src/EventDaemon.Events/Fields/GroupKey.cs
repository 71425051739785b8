using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace EventDaemon.Events.Fields;

/// <summary>
/// The identity of a key (an aggregate's group): each part's value, length-prefixed, and its hash.
/// The decoder computes the hash on the reader threads for every key of the ring's
/// <see cref="FieldCatalog"/>; the stage that keys on it builds the same bytes to compare.
/// </summary>
/// <remarks>
/// Each part is a kind byte, a 16-bit length and the value, so <c>"a"</c>+<c>"bc"</c> ≠
/// <c>"ab"</c>+<c>"c"</c>. Strings are stored unescaped (kind <c>s</c>), so <c>"ab"</c> and
/// <c>"a\u0062"</c>, or a JSON line's and a binary frame's spelling of one type, are one key;
/// other scalars keep their raw JSON token (kind <c>r</c>); an absent field and a JSON
/// <c>null</c> are both kind <c>n</c>.
/// </remarks>
public static class GroupKey
{
    /// <summary>Longest encoded key: keys are copied into group state, so they are bounded.</summary>
    public const int MaxBytes = 128;

    /// <summary>Per-process seed: a sender cannot aim keys at one bucket of a table it cannot see.</summary>
    private static readonly ulong Seed = (ulong)Random.Shared.NextInt64() | 1;

    private const ulong Prime1 = 0x9E3779B185EBCA87;
    private const ulong Prime2 = 0xC2B2AE3D27D4EB4F;
    private const ulong Prime3 = 0x165667B19E3779F9;

    /// <summary>Writes the key of <paramref name="view"/> into <paramref name="key"/>; returns its length, or -1 when it is longer than <see cref="MaxBytes"/>.</summary>
    public static int Build(in EventView view, ReadOnlySpan<KeyPart> parts, Span<byte> key)
    {
        int n = 0;
        foreach (KeyPart part in parts)
        {
            scoped ReadOnlySpan<byte> value;
            byte kind;
            bool escaped = false;
            switch (part.Kind)
            {
                case KeyPartKind.Type:
                    kind = view.HasType ? (byte)'s' : (byte)'n';
                    value = view.TypeRaw;
                    escaped = view.TypeEscaped && !view.IsBinary;
                    break;
                case KeyPartKind.Key:
                    kind = view.HasKey ? (byte)'s' : (byte)'n';
                    value = view.KeyRaw;
                    escaped = view.KeyEscaped && !view.IsBinary;
                    break;
                default:
                    if (view.TryGetField(part.Field, part.NameUtf8, out JsonScalar scalar) && scalar.Kind != JsonScalarKind.Null)
                    {
                        kind = scalar.Kind == JsonScalarKind.String ? (byte)'s' : (byte)'r';
                        value = view.Payload.Slice(scalar.Offset, scalar.Length);
                        escaped = scalar.Escaped;
                    }
                    else
                    {
                        kind = (byte)'n';
                        value = default;
                    }

                    break;
            }

            if (n + 3 > key.Length || n + 3 > MaxBytes)
            {
                return -1;
            }

            Span<byte> destination = key[(n + 3)..Math.Min(key.Length, MaxBytes)];
            int length;
            if (escaped)
            {
                // Unescaping never lengthens a string; a malformed escape cannot pass ingest.
                if (!JsonString.TryUnescape(value, destination, out length))
                {
                    return -1;
                }
            }
            else
            {
                if (value.Length > destination.Length)
                {
                    return -1;
                }

                value.CopyTo(destination);
                length = value.Length;
            }

            key[n] = kind;
            key[n + 1] = (byte)(length >> 8);
            key[n + 2] = (byte)length;
            n += 3 + length;
        }

        return n;
    }

    /// <summary>The key of <paramref name="view"/> hashed, or 0 when it is too long to be a key
    /// (the stage counts such an event; any fixed hash keeps it on one partition).</summary>
    [SkipLocalsInit]
    public static uint HashOf(in EventView view, ReadOnlySpan<KeyPart> parts)
    {
        Span<byte> key = stackalloc byte[MaxBytes];
        int length = Build(view, parts, key);
        return length < 0 ? 0 : Hash(key[..length]);
    }

    /// <summary>A 32-bit hash of encoded key bytes: eight bytes a round, then a full avalanche.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Hash(ReadOnlySpan<byte> key)
    {
        ulong h = Seed + (ulong)key.Length * Prime1;
        while (key.Length >= 8)
        {
            h = Round(h, BinaryPrimitives.ReadUInt64LittleEndian(key));
            key = key[8..];
        }

        if (!key.IsEmpty)
        {
            ulong tail = 0;
            for (int i = key.Length - 1; i >= 0; i--)
            {
                tail = (tail << 8) | key[i];
            }

            h = Round(h, tail);
        }

        // Every input bit reaches every output bit, so the low bits (table index) and the high
        // bits (partition) are both well mixed.
        h = Avalanche(h);
        return (uint)h ^ (uint)(h >> 32);
    }

    /// <summary>MurmurHash3's fmix64: the finishing step of every hash in the daemon.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Avalanche(ulong h)
    {
        h ^= h >> 33;
        h *= 0xFF51AFD7ED558CCD;
        h ^= h >> 33;
        h *= 0xC4CEB9FE1A85EC53;
        h ^= h >> 33;
        return h;
    }

    /// <summary>Which of <paramref name="partitions"/> a key hash belongs to: by its high bits, so
    /// partitions stay independent of the low bits a hash table indexes by.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Partition(uint hash, int partitions) => (int)(((ulong)hash * (uint)partitions) >> 32);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Round(ulong h, ulong lane) =>
        BitOperations.RotateLeft(h ^ (lane * Prime2), 31) * Prime1 + Prime3;
}
