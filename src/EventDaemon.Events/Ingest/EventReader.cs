using System.Runtime.CompilerServices;
using EventDaemon.Events.Fields;

namespace EventDaemon.Events.Ingest;

/// <summary>
/// What a stage reads of a ring: an event's payload bytes and the row its decoder recorded (named
/// fields' positions, keys' hashes), as an <see cref="EventView"/>. Read-only: no producer door.
/// </summary>
/// <remarks>
/// A stage reads a slot only after its barrier released it, so the payload and row it reads here
/// were written before the publish it waited for. A reader is bound to the catalog its stage's
/// field indices come from; while another catalog is installed (a test that never installed one),
/// views carry no row and fields are found by scanning the line, with the same results.
/// </remarks>
public sealed class EventReader
{
    private readonly EventRing _ring;

    internal EventReader(EventRing ring, FieldCatalog catalog)
    {
        _ring = ring;
        Catalog = catalog;
    }

    /// <summary>The ring's slots: what a stage sizes a per-sequence side array by.</summary>
    public int Capacity => _ring.Capacity;

    /// <summary>The catalog this reader's stage binds its fields and keys to.</summary>
    public FieldCatalog Catalog { get; }

    /// <summary>The payload of a slot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> Payload(ref readonly EventSlot slot) => _ring.Arena.At(slot.PayloadPosition, slot.PayloadLength);

    /// <summary>
    /// A look at the slot at <paramref name="sequence"/> ahead of the stage's barrier, for prefetch
    /// hints only: key <paramref name="keyIndex"/>'s hash from the row, the value and the timestamp
    /// of whatever the slot holds now. That may be an event not yet published, one of the previous
    /// lap, or one half written: use what this returns only to pick addresses to prefetch, never
    /// as data. False when the ring has no row with that key (nothing to look at).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPeekAhead(long sequence, int keyIndex, out uint keyHash, out double value, out long timestamp)
    {
        FieldCatalog catalog = Catalog;
        if ((uint)keyIndex >= (uint)catalog.KeyCount || !ReferenceEquals(catalog, _ring.Catalog))
        {
            keyHash = 0;
            value = 0;
            timestamp = 0;
            return false;
        }

        ref readonly EventSlot slot = ref _ring.Slots[sequence];
        value = slot.Value;
        timestamp = slot.Timestamp;
        keyHash = catalog.Hashes(_ring.Row(sequence))[keyIndex];
        return true;
    }

    /// <summary>The event at <paramref name="sequence"/> with its payload and row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public EventView View(ref readonly EventSlot slot, long sequence)
    {
        ReadOnlySpan<byte> payload = Payload(in slot);
        FieldCatalog catalog = Catalog;
        if (catalog.RowBytes == 0 || !ReferenceEquals(catalog, _ring.Catalog))
        {
            return new EventView(in slot, payload);
        }

        Span<byte> row = _ring.Row(sequence);
        return new EventView(in slot, payload, catalog.Fields(row), catalog.Hashes(row));
    }
}
