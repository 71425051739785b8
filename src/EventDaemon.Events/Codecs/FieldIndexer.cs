using EventDaemon.Events.Fields;

namespace EventDaemon.Events.Codecs;

/// <summary>
/// Fills a slot's <see cref="FieldCatalog"/> row: the decoder does it during its pass (fields) and
/// at its end (key hashes, <see cref="HashKeys"/>); <see cref="Index"/> does it for an event that
/// reaches a ring without one (a stage's generated line, a batch decoded under a catalog that a
/// reload has since replaced).
/// </summary>
public static class FieldIndexer
{
    /// <summary>Computes the hash of every key of <paramref name="catalog"/> into <paramref name="row"/>,
    /// whose field part is already filled.</summary>
    public static void HashKeys(in EventSlot slot, ReadOnlySpan<byte> payload, FieldCatalog catalog, Span<byte> row)
    {
        Span<uint> hashes = catalog.Hashes(row);
        Span<FieldRef> fields = catalog.Fields(row);
        for (int k = 0; k < hashes.Length; k++)
        {
            hashes[k] = GroupKey.HashOf(in slot, payload, fields, catalog.Key(k));
        }
    }

    /// <summary>Fills the whole row of an event from its payload, by decoding it again: JSON lines
    /// for their fields, binary frames (which have no named fields) for their keys only.</summary>
    /// <returns>False if the payload no longer decodes (not an event that passed a decoder): the row is then cleared.</returns>
    public static bool Index(in EventSlot slot, ReadOnlySpan<byte> payload, FieldCatalog catalog, Span<byte> row)
    {
        if (catalog.RowBytes == 0)
        {
            return true;
        }

        if ((slot.Flags & EventFlags.Binary) != 0)
        {
            catalog.Fields(row).Clear();
            HashKeys(in slot, payload, catalog, row);
            return true;
        }

        // Decoded into a copy: the slot's own fields (times, source, marks) stay as the producer set them.
        EventSlot scratch = slot;
        if (JsonEventParser.TryParse(payload, ref scratch, catalog, row, out _))
        {
            return true;
        }

        row[..catalog.RowBytes].Clear();
        return false;
    }
}
