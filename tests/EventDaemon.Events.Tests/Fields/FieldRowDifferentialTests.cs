using System.Text;
using System.Text.Json;
using CsCheck;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Fields;
using EventDaemon.Events.Tests.Support;
using Xunit;

namespace EventDaemon.Events.Tests.Fields;

/// <summary>
/// The row the decoder fills in its one pass against a full scan of the line (itself checked
/// against System.Text.Json): every field kind, escaped names and values, duplicates (last wins),
/// absent fields and the well-known names read as <c>.fields</c>; key hashes against the same key
/// hashed from a scan.
/// </summary>
public class FieldRowDifferentialTests
{
    [Fact]
    public void RandomEvents_RowAgreesWithScanningTheLine()
    {
        Gen.Int.Sample(seed =>
        {
            string text = new RandomJson(new Random(seed)).Line();
            byte[] line = Encoding.UTF8.GetBytes(text);
            using JsonDocument doc = JsonDocument.Parse(line);
            FieldCatalog catalog = CatalogFor(doc.RootElement);
            byte[] row = new byte[catalog.RowBytes];
            var slot = default(EventSlot);
            if (!JsonEventParser.TryParse(line, ref slot, catalog, row, out _))
            {
                return; // a well-known field of the wrong type: no row to compare
            }

            Span<FieldRef> fields = catalog.Fields(row);
            for (int i = 0; i < catalog.FieldCount; i++)
            {
                ReadOnlySpan<byte> name = catalog.Name(i);
                bool found = JsonFieldReader.TryGetField(line, name, out JsonScalar scanned);
                FieldRef recorded = fields[i];
                string shown = $"field '{Encoding.UTF8.GetString(name)}' in {text}";
                Assert.True(found == recorded.IsPresent, $"present: scan {found}, row {recorded.IsPresent}: {shown}");
                if (found)
                {
                    JsonScalar fromRow = recorded.ToScalar();
                    Assert.True(fromRow.Kind == scanned.Kind && fromRow.Offset == scanned.Offset && fromRow.Length == scanned.Length
                        && fromRow.Escaped == scanned.Escaped && fromRow.IsIntegerToken == scanned.IsIntegerToken,
                        $"row {fromRow.Kind}@{fromRow.Offset}+{fromRow.Length} esc={fromRow.Escaped} int={fromRow.IsIntegerToken}, scan {scanned.Kind}@{scanned.Offset}+{scanned.Length} esc={scanned.Escaped} int={scanned.IsIntegerToken}: {shown}");
                }
            }

            var withRow = new EventView(in slot, line, fields, catalog.Hashes(row));
            var withoutRow = new EventView(in slot, line);
            for (int k = 0; k < catalog.KeyCount; k++)
            {
                uint expected = GroupKey.HashOf(in withoutRow, catalog.Key(k));
                Assert.True(withRow.TryGetKeyHash(k, out uint hash) && hash == expected, $"key {k}: row hash {hash:x8}, scanned {expected:x8} in {text}");
            }
        }, iter: 20_000);
    }

    [Theory]
    [InlineData("""{"ts":1764151200123456789,"n":1764151200123456789}""", 1764151200123456789L)]
    [InlineData("""{"n":-9223372036854775808}""", long.MinValue)]
    [InlineData("""{"n":0}""", 0L)]
    public void IntegerFields_AreReadExactly_BeyondADoublesPrecision(string text, long expected)
    {
        byte[] line = Encoding.UTF8.GetBytes(text);
        FieldCatalog catalog = Catalog("n");
        byte[] row = new byte[catalog.RowBytes];
        var slot = default(EventSlot);
        Assert.True(JsonEventParser.TryParse(line, ref slot, catalog, row, out var reason), $"line should decode: {reason}");
        JsonScalar n = catalog.Fields(row)[0].ToScalar();
        Assert.True(n.IsIntegerToken && n.TryGetInt64(line, out long value) && value == expected, $"n should read as exactly {expected}");
    }

    [Theory]
    [InlineData("""{"n":1.5}""", 1.5)]
    [InlineData("""{"n":1e3}""", 1000.0)]
    [InlineData("""{"n":18446744073709551616}""", 18446744073709551616.0)]
    public void NonIntegerFields_AreNotIntegers_AndConvertOnDemand(string text, double expected)
    {
        byte[] line = Encoding.UTF8.GetBytes(text);
        FieldCatalog catalog = Catalog("n");
        byte[] row = new byte[catalog.RowBytes];
        var slot = default(EventSlot);
        Assert.True(JsonEventParser.TryParse(line, ref slot, catalog, row, out _), "line should decode");
        JsonScalar n = catalog.Fields(row)[0].ToScalar();
        Assert.False(n.TryGetInt64(line, out _), "not a 64-bit integer");
        Assert.True(n.GetDouble(line) == expected, $"n should convert to {expected}, got {n.GetDouble(line)}");
    }

    [Fact]
    public void EscapedNames_AndWellKnownNames_AreRecorded()
    {
        byte[] line = """{"type":"a","r\u0065gion":"eu","region":"us","value":3}"""u8.ToArray();
        FieldCatalog catalog = Catalog("region", "type", "value");
        byte[] row = new byte[catalog.RowBytes];
        var slot = default(EventSlot);
        Assert.True(JsonEventParser.TryParse(line, ref slot, catalog, row, out _), "line should decode");
        Span<FieldRef> fields = catalog.Fields(row);
        Assert.True(Encoding.UTF8.GetString(fields[0].ToScalar().RawIn(line)) == "us", "the last of two spellings of one name wins");
        Assert.True(fields[1].Kind == JsonScalarKind.String && (slot.Flags & EventFlags.HasType) != 0, ".type is recorded and type still decoded");
        Assert.True(fields[2].Kind == JsonScalarKind.Number && slot.Value == 3, ".value is recorded and value still decoded");
    }

    [Fact]
    public void BinaryFrames_HaveNoNamedFields_ButTheirKeysAreHashed()
    {
        byte[] frame = Codecs.BinaryFrameTests.Encode(null, 1, "click", "u1", Encoding.UTF8.GetBytes("{\"region\":\"eu\"}"));
        var slot = default(EventSlot);
        Assert.True(BinaryFrameDecoder.DecodeOne(frame, 1024, ref slot, out _, out _) == EventDaemon.Events.BadInput.FrameError.None, "fixture frame should decode");
        var builder = new FieldCatalog.Builder();
        builder.AddKey([KeyPart.Type, KeyPart.Key, KeyPart.Named("region")]);
        FieldCatalog catalog = builder.Build();
        byte[] row = new byte[catalog.RowBytes];
        row.AsSpan().Fill(0xAB);
        Assert.True(FieldIndexer.Index(in slot, frame, catalog, row), "a frame indexes");
        Assert.False(catalog.Fields(row)[0].IsPresent, "binary frames have no named fields");

        byte[] json = """{"type":"click","key":"u1"}"""u8.ToArray();
        var jsonSlot = default(EventSlot);
        byte[] jsonRow = new byte[catalog.RowBytes];
        Assert.True(JsonEventParser.TryParse(json, ref jsonSlot, catalog, jsonRow, out _), "line should decode");
        Assert.True(catalog.Hashes(row)[0] == catalog.Hashes(jsonRow)[0], "a frame and a line with the same type and key (and no region) are one group");
    }

    private static FieldCatalog Catalog(params string[] names)
    {
        var builder = new FieldCatalog.Builder();
        foreach (string name in names)
        {
            builder.AddField(name);
        }

        return builder.Build();
    }

    /// <summary>Every name the line has, one it lacks, the well-known names, and two keys over them.</summary>
    private static FieldCatalog CatalogFor(JsonElement root)
    {
        var builder = new FieldCatalog.Builder();
        foreach (JsonProperty p in root.EnumerateObject())
        {
            if (p.Name.Length > 0 && Encoding.UTF8.GetByteCount(p.Name) < 200 && builder.AddField(p.Name) >= FieldCatalog.MaxFields - 8)
            {
                break;
            }
        }

        builder.AddField("absent");
        builder.AddField("type");
        builder.AddField("extra1");
        builder.AddKey([KeyPart.Type, KeyPart.Key]);
        builder.AddKey([KeyPart.Key, KeyPart.Named("extra1"), KeyPart.Named("absent")]);
        return builder.Build();
    }
}
