using System.Text;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Fields;
using EventDaemon.Events.Ingest;
using Xunit;

namespace EventDaemon.Events.Tests.Ingest;

/// <summary>Rows beside the slots: what a producer decoded, what the ring decodes for it, and a catalog replaced in between.</summary>
public sealed class EventRingCatalogTests
{
    private static readonly byte[] Line = """{"type":"a","key":"u1","region":"eu","n":7}"""u8.ToArray();

    [Fact]
    public void AppendWithoutRow_TheRingDecodesTheRow()
    {
        using var ring = new EventRing(16, 4096, lockMemory: false, notifyOnPublish: false);
        FieldCatalog catalog = Catalog();
        ring.UseCatalog(catalog);
        EventSlot slot = Decode(Line, FieldCatalog.Empty, []);
        Append(ring, slot, Line, default, null);

        EventView view = ring.ReaderFor(catalog).View(ref ring.Slots[0], 0);
        Assert.True(view.IsIndexed, "the view should carry the ring's row");
        Assert.True(view.TryGetField(catalog.IndexOf("region"), "region"u8, out JsonScalar region) && Encoding.UTF8.GetString(region.RawIn(view.Payload)) == "eu",
            "region should come from the row");
        Assert.True(view.TryGetKeyHash(0, out uint hash) && hash == GroupKey.HashOf(new EventView(in ring.Slots[0], view.Payload), catalog.Key(0)),
            "the key hash should equal the scanned one");
    }

    [Fact]
    public void RowDecodedForAReplacedCatalog_IsDecodedAgainForTheNewOne()
    {
        using var ring = new EventRing(16, 4096, lockMemory: false, notifyOnPublish: false);
        var oldBuilder = new FieldCatalog.Builder();
        oldBuilder.AddField("n");
        FieldCatalog old = oldBuilder.Build();
        ring.UseCatalog(old);
        byte[] oldRow = new byte[old.RowBytes];
        EventSlot slot = Decode(Line, old, oldRow);

        FieldCatalog current = Catalog();
        ring.UseCatalog(current); // a reload, between the decode and the producer's turn
        Append(ring, slot, Line, oldRow, old);

        EventView view = ring.ReaderFor(current).View(ref ring.Slots[0], 0);
        Assert.True(view.TryGetField(current.IndexOf("region"), "region"u8, out JsonScalar region) && Encoding.UTF8.GetString(region.RawIn(view.Payload)) == "eu",
            "the row should be for the new catalog, not the old one's bytes");
        Assert.True(view.TryGetField(current.IndexOf("n"), "n"u8, out JsonScalar n) && n.TryGetInt64(view.Payload, out long value) && value == 7,
            "n should be found at its new index");
    }

    [Fact]
    public void ReaderBoundToAnotherCatalog_ScansInsteadOfReadingAForeignRow()
    {
        using var ring = new EventRing(16, 4096, lockMemory: false, notifyOnPublish: false);
        FieldCatalog installed = Catalog();
        ring.UseCatalog(installed);
        Append(ring, Decode(Line, FieldCatalog.Empty, []), Line, default, null);
        var otherBuilder = new FieldCatalog.Builder();
        otherBuilder.AddField("n");
        FieldCatalog other = otherBuilder.Build();

        EventView view = ring.ReaderFor(other).View(ref ring.Slots[0], 0);
        Assert.False(view.IsIndexed, "a row made for another catalog must not be read");
        Assert.True(view.TryGetField(0, "n"u8, out JsonScalar n) && n.TryGetInt64(view.Payload, out long value) && value == 7, "n is still found, by scanning");
    }

    private static FieldCatalog Catalog()
    {
        var builder = new FieldCatalog.Builder();
        builder.AddKey([KeyPart.Type, KeyPart.Key]);
        builder.AddField("region");
        builder.AddField("n");
        return builder.Build();
    }

    private static EventSlot Decode(byte[] line, FieldCatalog catalog, byte[] row)
    {
        var slot = default(EventSlot);
        Assert.True(JsonEventParser.TryParse(line, ref slot, catalog, row, out var reason), $"fixture should decode: {reason}");
        return slot;
    }

    private static void Append(EventRing ring, EventSlot slot, byte[] payload, byte[]? row, FieldCatalog? rowCatalog)
    {
        IngestBatch batch = ring.BeginBatch(runIdleStages: false);
        try
        {
            Assert.True(batch.TryAppend(in slot, payload, row, rowCatalog, wait: false), "an empty ring takes the event");
        }
        finally
        {
            batch.Dispose();
        }
    }
}
