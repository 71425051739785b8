using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using EventDaemon.Events.Codecs.Internal;

namespace EventDaemon.Events.Fields;

/// <summary>
/// What the stages of one ring read beyond the well-known fields: the named fields (<c>.name</c>
/// in conditions, <c>group_by</c>, the key of a sample, throttle, dedupe or enrich) and the keys
/// whose hash a stage wants (an aggregate's group key). The decoder, on the reader threads, records
/// where each field's value lies and hashes each key into a row of <see cref="RowBytes"/> beside
/// the slot, so a stage never scans the line again and never converts a number it does not ask for.
/// </summary>
/// <remarks>
/// Immutable; built from the config once per graph (at start and on reload) and installed on the
/// ring while no producer holds the turn and no stage runs (<c>EventRing.UseCatalog</c>).
/// A row is <see cref="FieldCount"/> <see cref="FieldRef"/>s followed by <see cref="KeyCount"/>
/// 32-bit hashes, padded to 8 bytes.
/// </remarks>
public sealed class FieldCatalog
{
    /// <summary>Fields per ring: rows cost 8 bytes a field for every slot of the ring.</summary>
    public const int MaxFields = 64;

    /// <summary>Hashed keys per ring.</summary>
    public const int MaxKeys = 16;

    private readonly byte[][] _names;
    private readonly KeyPart[][] _keys;

    // Bit (length & 63) is set for every name length: most members of a line are rejected by one test.
    private readonly ulong _lengths;

    private FieldCatalog(byte[][] names, KeyPart[][] keys)
    {
        _names = names;
        _keys = keys;
        foreach (byte[] name in names)
        {
            _lengths |= 1UL << (name.Length & 63);
        }

        FieldCount = names.Length;
        KeyCount = keys.Length;
        int bytes = FieldCount * Unsafe.SizeOf<FieldRef>() + KeyCount * sizeof(uint);
        RowBytes = (bytes + 7) & ~7;
        Members = new MemberNameTable(names, this);
    }

    /// <summary>No named fields, no keys: rows of zero bytes.</summary>
    public static FieldCatalog Empty { get; } = new([], []);

    public int FieldCount { get; }

    public int KeyCount { get; }

    /// <summary>Bytes of one slot's row (0 when there is nothing to record).</summary>
    public int RowBytes { get; }

    /// <summary>The decoder's one lookup per member name: well-known field and catalog index at once.</summary>
    internal MemberNameTable Members { get; }

    /// <summary>The name of field <paramref name="index"/>, unescaped UTF-8.</summary>
    public ReadOnlySpan<byte> Name(int index) => _names[index];

    /// <summary>The parts of key <paramref name="index"/>, with their field indices.</summary>
    public ReadOnlySpan<KeyPart> Key(int index) => _keys[index];

    /// <summary>The index of a field by name, or -1.</summary>
    public int IndexOf(string name) => IndexOf(Encoding.UTF8.GetBytes(name));

    /// <summary>The index of a field by its unescaped UTF-8 name, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int IndexOf(ReadOnlySpan<byte> name)
    {
        if ((_lengths & (1UL << (name.Length & 63))) == 0)
        {
            return -1;
        }

        byte[][] names = _names;
        for (int i = 0; i < names.Length; i++)
        {
            if (name.SequenceEqual(names[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The index of a key with exactly these parts, or -1.</summary>
    public int KeyIndexOf(ReadOnlySpan<KeyPart> parts)
    {
        for (int i = 0; i < _keys.Length; i++)
        {
            if (SameParts(_keys[i], parts))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The field part of a row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<FieldRef> Fields(Span<byte> row) => MemoryMarshal.Cast<byte, FieldRef>(row)[..FieldCount];

    /// <summary>The key-hash part of a row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<uint> Hashes(Span<byte> row) =>
        MemoryMarshal.Cast<byte, uint>(row[(FieldCount * Unsafe.SizeOf<FieldRef>())..])[..KeyCount];

    public override string ToString()
    {
        var text = new StringBuilder();
        for (int i = 0; i < _names.Length; i++)
        {
            text.Append(i == 0 ? "fields " : ", ").Append('.').Append(Encoding.UTF8.GetString(_names[i]));
        }

        for (int i = 0; i < _keys.Length; i++)
        {
            text.Append(text.Length == 0 ? "keys " : i == 0 ? "; keys " : ", ").Append('(').AppendJoin(", ", _keys[i]).Append(')');
        }

        return text.Length == 0 ? "none" : text.ToString();
    }

    private static bool SameParts(KeyPart[] a, ReadOnlySpan<KeyPart> b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }

        for (int i = 0; i < a.Length; i++)
        {
            if (!a[i].SameAs(b[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Collects the fields and keys of one ring's stages; duplicates are merged.</summary>
    public sealed class Builder
    {
        private readonly List<string> _names = [];
        private readonly List<KeyPart[]> _keys = [];

        /// <summary>Adds a field by name (without its dot); returns its index.</summary>
        public int AddField(string name)
        {
            ArgumentException.ThrowIfNullOrEmpty(name);
            int index = _names.IndexOf(name);
            if (index >= 0)
            {
                return index;
            }

            if (_names.Count == MaxFields)
            {
                throw new InvalidOperationException($"at most {MaxFields} distinct .fields per stream");
            }

            _names.Add(name);
            return _names.Count - 1;
        }

        /// <summary>Adds a key (its named parts become fields too); returns its index.</summary>
        public int AddKey(ReadOnlySpan<KeyPart> parts)
        {
            for (int i = 0; i < _keys.Count; i++)
            {
                if (SameParts(_keys[i], parts))
                {
                    return i;
                }
            }

            if (_keys.Count == MaxKeys)
            {
                throw new InvalidOperationException($"at most {MaxKeys} distinct keys per stream");
            }

            var stored = new KeyPart[parts.Length];
            for (int i = 0; i < parts.Length; i++)
            {
                if (parts[i].Kind == KeyPartKind.Field)
                {
                    AddField(parts[i].Name!);
                }

                stored[i] = parts[i];
            }

            _keys.Add(stored);
            return _keys.Count - 1;
        }

        public FieldCatalog Build()
        {
            if (_names.Count == 0 && _keys.Count == 0)
            {
                return Empty;
            }

            var catalog = new FieldCatalog([.. _names.Select(n => Encoding.UTF8.GetBytes(n))], [.. _keys]);
            foreach (KeyPart[] key in catalog._keys)
            {
                for (int i = 0; i < key.Length; i++)
                {
                    key[i] = key[i].In(catalog);
                }
            }

            return catalog;
        }
    }
}
