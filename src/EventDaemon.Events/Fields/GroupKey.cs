using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EventDaemon.Events.Codecs.Internal;

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

    // Keys this short (two parts of up to 13 bytes each) are hashed from registers.
    private const int ShortKeyBytes = 32;
    private const int ShortPartBytes = 13;

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

    /// <summary>
    /// The same value as <see cref="HashOf(in EventView, ReadOnlySpan{KeyPart})"/> for the view of
    /// <paramref name="slot"/>, <paramref name="payload"/> and the decoder's <paramref name="fields"/>,
    /// computed the way the reader threads need it: straight from the slot and the row, no view.
    /// </summary>
    /// <remarks>
    /// A key of up to <see cref="ShortKeyBytes"/> encoded bytes whose parts are plain (unescaped)
    /// values of up to 13 bytes, raw tokens or absent (a per-user key: <c>type</c> and <c>key</c>)
    /// is assembled in four 64-bit words: each part is one 16-byte load of the payload starting 3
    /// bytes before its value, masked, with its header put over those 3 bytes, and shifted into
    /// place. Nothing goes through memory between writing the key and hashing it, which costs a
    /// store-forwarding stall per word when the parts are written as bytes and read back as words.
    /// Other keys are built in a buffer (<see cref="HashOfBuffered"/>).
    /// </remarks>
    [SkipLocalsInit]
    public static uint HashOf(in EventSlot slot, ReadOnlySpan<byte> payload, ReadOnlySpan<FieldRef> fields, ReadOnlySpan<KeyPart> parts)
    {
        // Two spare words: a part at the end of word 3 spills zeros into them.
        Span<ulong> words = stackalloc ulong[(ShortKeyBytes / 8) + 2];
        words.Clear();
        ref ulong word = ref MemoryMarshal.GetReference(words);
        bool binary = (slot.Flags & EventFlags.Binary) != 0;
        int n = 0;
        foreach (KeyPart part in parts)
        {
            if (!TryLocate(in slot, fields, part, binary, out byte kind, out int offset, out int length, out bool escaped)
                || escaped || n + 3 + length > ShortKeyBytes)
            {
                return HashOfBuffered(in slot, payload, fields, parts);
            }

            // Header: kind, then the 16-bit length big-endian (its high byte is 0 here).
            ulong header = kind | ((ulong)length << 16);
            ulong low = header, high = 0;
            if (length != 0)
            {
                // In bounds: 3 <= offset and offset - 3 + 16 <= payload.Length.
                if (length > ShortPartBytes || offset < 3 || (ulong)(uint)offset + ShortPartBytes > (ulong)payload.Length)
                {
                    return HashOfBuffered(in slot, payload, fields, parts);
                }

                Vector128<ulong> v = (Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(payload), (nuint)(offset - 3))
                    & ByteMasks.KeepFirst(3 + length)).AsUInt64();
                low = (v.ToScalar() & ~0xFFFFFFUL) | header;
                high = v.GetElement(1);
            }

            // Shift the part's 16 bytes to byte n of the key: words n/8 .. n/8 + 2. (x >> 1) >> (63 - b)
            // is x >> (64 - b) that also gives 0 for b = 0, where C# would shift by 0 instead of 64.
            int bits = (n & 7) * 8;
            ref ulong at = ref Unsafe.Add(ref word, n >> 3);
            at |= low << bits;
            Unsafe.Add(ref at, 1) |= (high << bits) | ((low >> 1) >> (63 - bits));
            Unsafe.Add(ref at, 2) |= (high >> 1) >> (63 - bits);
            n += 3 + length;
        }

        // As Hash: full words, then the tail (the bytes past the key are zero, as Hash pads it).
        ulong h = Seed + (ulong)n * Prime1;
        int full = n >> 3;
        for (int k = 0; k < full; k++)
        {
            h = Round(h, Unsafe.Add(ref word, k));
        }

        if ((n & 7) != 0)
        {
            h = Round(h, Unsafe.Add(ref word, full));
        }

        h = Avalanche(h);
        return (uint)h ^ (uint)(h >> 32);
    }

    /// <summary>Where a part's value lies in the payload, and its kind byte; false when only a scan of the line can tell.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryLocate(in EventSlot slot, ReadOnlySpan<FieldRef> fields, KeyPart part, bool binary,
        out byte kind, out int offset, out int length, out bool escaped)
    {
        switch (part.Kind)
        {
            case KeyPartKind.Type:
                bool hasType = (slot.Flags & EventFlags.HasType) != 0;
                kind = hasType ? (byte)'s' : (byte)'n';
                offset = slot.TypeOffset;
                length = hasType ? slot.TypeLength : 0;
                escaped = (slot.Flags & EventFlags.TypeEscaped) != 0 && !binary;
                return true;
            case KeyPartKind.Key:
                bool hasKey = (slot.Flags & EventFlags.HasKey) != 0;
                kind = hasKey ? (byte)'s' : (byte)'n';
                offset = slot.KeyOffset;
                length = hasKey ? slot.KeyLength : 0;
                escaped = (slot.Flags & EventFlags.KeyEscaped) != 0 && !binary;
                return true;
            default:
                offset = 0;
                length = 0;
                escaped = false;
                if ((uint)part.Field >= (uint)fields.Length)
                {
                    kind = 0;
                    return false;
                }

                FieldRef field = fields[part.Field];
                if (field.IsPresent && field.Kind != JsonScalarKind.Null)
                {
                    kind = field.Kind == JsonScalarKind.String ? (byte)'s' : (byte)'r';
                    offset = field.Offset;
                    length = field.Length;
                    escaped = field.Escaped;
                }
                else
                {
                    kind = (byte)'n';
                }

                return true;
        }
    }

    /// <summary>As <see cref="HashOf(in EventSlot, ReadOnlySpan{byte}, ReadOnlySpan{FieldRef}, ReadOnlySpan{KeyPart})"/>
    /// for any key: plain parts copied into a buffer (16 bytes at a time where the payload allows),
    /// escaped parts or fields the row lacks through <see cref="Build"/>.</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static uint HashOfBuffered(in EventSlot slot, ReadOnlySpan<byte> payload, ReadOnlySpan<FieldRef> fields, ReadOnlySpan<KeyPart> parts)
    {
        const int Slack = 16;
        Span<byte> buffer = stackalloc byte[MaxBytes + Slack];
        ref byte key = ref MemoryMarshal.GetReference(buffer);
        bool binary = (slot.Flags & EventFlags.Binary) != 0;
        int n = 0;
        foreach (KeyPart part in parts)
        {
            if (!TryLocate(in slot, fields, part, binary, out byte kind, out int offset, out int length, out bool escaped) || escaped)
            {
                return HashOfView(in slot, payload, fields, parts);
            }

            if (n + 3 + length > MaxBytes)
            {
                return 0; // too long to be a key, as Build decides
            }

            ref byte destination = ref Unsafe.Add(ref key, n + 3);
            if (length <= Slack && (ulong)(uint)offset + Slack <= (ulong)payload.Length)
            {
                // In bounds both sides: offset + 16 <= payload.Length, and n + 3 + 16 <= MaxBytes + 16.
                Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(payload), (nuint)offset).StoreUnsafe(ref destination);
            }
            else if (length != 0)
            {
                payload.Slice(offset, length).CopyTo(MemoryMarshal.CreateSpan(ref destination, length));
            }

            Unsafe.Add(ref key, n) = kind;
            Unsafe.Add(ref key, n + 1) = (byte)(length >> 8);
            Unsafe.Add(ref key, n + 2) = (byte)length;
            n += 3 + length;
        }

        return HashPadded(ref key, n);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static uint HashOfView(in EventSlot slot, ReadOnlySpan<byte> payload, ReadOnlySpan<FieldRef> fields, ReadOnlySpan<KeyPart> parts)
    {
        var view = new EventView(in slot, payload, fields, default);
        return HashOf(in view, parts);
    }

    /// <summary><see cref="Hash"/> of the <paramref name="length"/> bytes at <paramref name="key"/>,
    /// which has at least 8 readable bytes past them (their values do not matter).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint HashPadded(ref byte key, int length)
    {
        ulong h = Seed + (ulong)length * Prime1;
        int i = 0;
        for (; i + 8 <= length; i += 8)
        {
            h = Round(h, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref key, i)));
        }

        int rest = length - i;
        if (rest != 0)
        {
            // The tail bytes little-endian, as Hash assembles them one by one.
            ulong tail = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref key, i)) & (ulong.MaxValue >> (64 - (rest * 8)));
            h = Round(h, tail);
        }

        h = Avalanche(h);
        return (uint)h ^ (uint)(h >> 32);
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
