using System.Runtime.CompilerServices;

namespace EventDaemon.Events.Fields;

/// <summary>
/// Read-only view of one event for transforms: the slot's decoded fields, its payload bytes and,
/// for events of a ring with a <see cref="FieldCatalog"/>, the row the decoder recorded: where
/// each named field lies and each key's hash. Lives on the stack only; nothing here allocates.
/// </summary>
public readonly ref struct EventView
{
    private readonly ref readonly EventSlot _slot;
    private readonly ReadOnlySpan<FieldRef> _fields;
    private readonly ReadOnlySpan<uint> _hashes;

    public EventView(ref readonly EventSlot slot, ReadOnlySpan<byte> payload)
    {
        _slot = ref slot;
        Payload = payload;
    }

    public EventView(ref readonly EventSlot slot, ReadOnlySpan<byte> payload, ReadOnlySpan<FieldRef> fields, ReadOnlySpan<uint> hashes)
    {
        _slot = ref slot;
        Payload = payload;
        _fields = fields;
        _hashes = hashes;
    }

    public ref readonly EventSlot Slot => ref _slot;

    /// <summary>The event's original bytes (a JSON line without its newline, or a binary frame).</summary>
    public ReadOnlySpan<byte> Payload { get; }

    public bool HasType => (_slot.Flags & EventFlags.HasType) != 0;
    public bool HasKey => (_slot.Flags & EventFlags.HasKey) != 0;
    public bool HasValue => (_slot.Flags & EventFlags.HasValue) != 0;

    /// <summary>Raw UTF-8 bytes of <c>type</c> (JSON-escaped if <see cref="EventFlags.TypeEscaped"/>).</summary>
    public ReadOnlySpan<byte> TypeRaw => HasType ? Payload.Slice(_slot.TypeOffset, _slot.TypeLength) : default;

    /// <summary>Raw UTF-8 bytes of <c>key</c> (JSON-escaped if <see cref="EventFlags.KeyEscaped"/>).</summary>
    public ReadOnlySpan<byte> KeyRaw => HasKey ? Payload.Slice(_slot.KeyOffset, _slot.KeyLength) : default;

    public bool TypeEscaped => (_slot.Flags & EventFlags.TypeEscaped) != 0;
    public bool KeyEscaped => (_slot.Flags & EventFlags.KeyEscaped) != 0;
    public bool IsBinary => (_slot.Flags & EventFlags.Binary) != 0;

    /// <summary>Whether the decoder's row came with this event.</summary>
    public bool IsIndexed => !_fields.IsEmpty || !_hashes.IsEmpty;

    /// <summary>
    /// Looks up a top-level field of a JSON event by its unescaped name (last occurrence wins) by
    /// scanning the line. Binary events have no named fields beyond the well-known ones: always false.
    /// </summary>
    public bool TryGetField(ReadOnlySpan<byte> name, out JsonScalar value)
    {
        if (IsBinary)
        {
            value = default;
            return false;
        }

        return JsonFieldReader.TryGetField(Payload, name, out value);
    }

    /// <summary>
    /// Looks up field <paramref name="index"/> of the ring's catalog in the decoder's row: no scan.
    /// A view without a row, or an index the catalog did not have (-1), falls back to scanning
    /// for <paramref name="name"/>, with the same result.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetField(int index, ReadOnlySpan<byte> name, out JsonScalar value)
    {
        if ((uint)index < (uint)_fields.Length)
        {
            FieldRef field = _fields[index];
            value = field.ToScalar();
            return field.IsPresent;
        }

        return TryGetField(name, out value);
    }

    /// <summary>The decoder's hash of key <paramref name="index"/> of the catalog, when the row has it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetKeyHash(int index, out uint hash)
    {
        if ((uint)index < (uint)_hashes.Length)
        {
            hash = _hashes[index];
            return true;
        }

        hash = 0;
        return false;
    }

    /// <summary>Whether <c>type</c> is present and equals <paramref name="utf8"/> after unescaping.</summary>
    public bool TypeEquals(ReadOnlySpan<byte> utf8) => HasType && JsonString.EqualsUnescaped(TypeRaw, TypeEscaped, utf8);

    /// <summary>Whether <c>key</c> is present and equals <paramref name="utf8"/> after unescaping.</summary>
    public bool KeyEquals(ReadOnlySpan<byte> utf8) => HasKey && JsonString.EqualsUnescaped(KeyRaw, KeyEscaped, utf8);
}
