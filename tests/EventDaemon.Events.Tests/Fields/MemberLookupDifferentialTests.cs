using System.Globalization;
using System.Text;
using CsCheck;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Fields;
using Xunit;

namespace EventDaemon.Events.Tests.Fields;

/// <summary>
/// The decoder's one lookup per member name (well-known field and catalog index at once) and its
/// key hashes from the row, against what they replace: the line decoded without a catalog, the
/// named fields found by scanning the line, and each key built into bytes and hashed. The names
/// are drawn from a small set made to be confused: the same length, one byte apart at the start
/// or only after the 8th and 15th byte, the well-known names and their prefixes and extensions,
/// either side of the 15-byte vector limit, non-ASCII, a NUL, spelled plain or escaped.
/// </summary>
public class MemberLookupDifferentialTests
{
    private static readonly string[] Names =
    [
        "ts", "type", "key", "value", "t", "ty", "typ", "types", "tS", "valu", "values", "k", "keys", "kez",
        "region", "regioN", "regiom", "Region", "abcdefgh", "abcdefgi", "abcdefghX", "abcdefghY",
        "abcdefghijklmno", "abcdefghijklmnp", "abcdefghijklmnop", "abcdefghijklmnoq", "abcdefghijklmnopq",
        "r\u00e9gion", "ts\u0000", "m",
    ];

    [Fact]
    public void RandomCatalogsAndLines_DecodeAsWithoutCatalog_AndRowsAgreeWithScanningAndBuilding()
    {
        Gen.Int.Sample(seed =>
        {
            var random = new Random(seed);
            FieldCatalog catalog = RandomCatalog(random);
            string text = RandomLine(random);
            byte[] line = Encoding.UTF8.GetBytes(text);
            string shown = $"{text} with {catalog}";

            var plain = default(EventSlot);
            bool plainOk = JsonEventParser.TryParse(line, ref plain, out InvalidReason plainReason);
            byte[] row = new byte[catalog.RowBytes];
            var slot = default(EventSlot);
            bool ok = JsonEventParser.TryParse(line, ref slot, catalog, row, out InvalidReason reason);
            Assert.True(ok == plainOk && reason == plainReason, $"a catalog must not change the verdict: {reason.Label()} vs {plainReason.Label()} for {shown}");
            if (!ok)
            {
                return;
            }

            Assert.True(slot.Flags == plain.Flags && slot.Timestamp == plain.Timestamp && BitConverter.DoubleToInt64Bits(slot.Value) == BitConverter.DoubleToInt64Bits(plain.Value)
                && slot.TypeOffset == plain.TypeOffset && slot.TypeLength == plain.TypeLength && slot.KeyOffset == plain.KeyOffset && slot.KeyLength == plain.KeyLength,
                $"well-known fields differ with a catalog: {shown}");

            Span<FieldRef> fields = catalog.Fields(row);
            for (int i = 0; i < catalog.FieldCount; i++)
            {
                bool found = JsonFieldReader.TryGetField(line, catalog.Name(i), out JsonScalar scanned);
                FieldRef recorded = fields[i];
                string which = $"field '{Encoding.UTF8.GetString(catalog.Name(i))}' in {shown}";
                Assert.True(found == recorded.IsPresent, $"present: scan {found}, row {recorded.IsPresent}: {which}");
                if (found)
                {
                    JsonScalar fromRow = recorded.ToScalar();
                    Assert.True(fromRow.Kind == scanned.Kind && fromRow.Offset == scanned.Offset && fromRow.Length == scanned.Length
                        && fromRow.Escaped == scanned.Escaped && fromRow.IsIntegerToken == scanned.IsIntegerToken,
                        $"row {fromRow.Kind}@{fromRow.Offset}+{fromRow.Length}, scan {scanned.Kind}@{scanned.Offset}+{scanned.Length}: {which}");
                }
            }

            var withoutRow = new EventView(in slot, line);
            Span<uint> hashes = catalog.Hashes(row);
            for (int k = 0; k < catalog.KeyCount; k++)
            {
                uint expected = HashOfBuiltKey(in withoutRow, catalog.Key(k));
                Assert.True(hashes[k] == expected, $"key {k} ({string.Join(", ", catalog.Key(k).ToArray())}): row {hashes[k]:x8}, built {expected:x8}: {shown}");
            }
        }, iter: 20_000);
    }

    [Theory]
    [InlineData("""{"type":"abcdefghijklm","key":"abcdefghijklm","x":1}""")] // 13 + 13 bytes: 32 encoded, the longest short key
    [InlineData("""{"type":"abcdefghijklmn","key":"a","x":1}""")] // a 14-byte part
    [InlineData("""{"type":"abcdefghijklm","key":"abcdefghijklmn","x":1}""")] // 33 encoded bytes
    [InlineData("""{"x":1,"type":"view","key":"u"}""")] // the key's value ends the line
    [InlineData("""{"key":"u","type":"v"}""")]
    [InlineData("""{"type":"","key":""}""")]
    [InlineData("""{"type":"a\"b","key":"\u0075"}""")] // escaped parts
    [InlineData("""{"value":1}""")] // both absent
    public void KeyHashFromRow_EqualsTheHashOfTheBuiltKey(string text)
    {
        byte[] line = Encoding.UTF8.GetBytes(text);
        var builder = new FieldCatalog.Builder();
        builder.AddKey([KeyPart.Type, KeyPart.Key]);
        builder.AddKey([KeyPart.Key, KeyPart.Named("x"), KeyPart.Type]);
        builder.AddKey([KeyPart.Named("x")]);
        FieldCatalog catalog = builder.Build();
        byte[] row = new byte[catalog.RowBytes];
        var slot = default(EventSlot);
        Assert.True(JsonEventParser.TryParse(line, ref slot, catalog, row, out InvalidReason reason), $"fixture line should decode: {reason.Label()}");
        var view = new EventView(in slot, line);
        for (int k = 0; k < catalog.KeyCount; k++)
        {
            uint expected = HashOfBuiltKey(in view, catalog.Key(k));
            Assert.True(catalog.Hashes(row)[k] == expected, $"key {k}: row {catalog.Hashes(row)[k]:x8}, built {expected:x8} for {text}");
        }
    }

    [Fact]
    public void KeysLongerThanAKeyCanBe_HashToZero_FromTheRowToo()
    {
        string longValue = new('v', 130);
        byte[] line = Encoding.UTF8.GetBytes($$"""{"type":"{{longValue}}","key":"k"}""");
        var builder = new FieldCatalog.Builder();
        builder.AddKey([KeyPart.Type, KeyPart.Key]);
        FieldCatalog catalog = builder.Build();
        byte[] row = new byte[catalog.RowBytes];
        var slot = default(EventSlot);
        Assert.True(JsonEventParser.TryParse(line, ref slot, catalog, row, out _), "fixture line should decode");
        Assert.True(catalog.Hashes(row)[0] == 0, $"a key over {GroupKey.MaxBytes} bytes hashes to 0, got {catalog.Hashes(row)[0]:x8}");
    }

    /// <summary>What the row's hash replaces: the key's bytes built from a view, then hashed.</summary>
    private static uint HashOfBuiltKey(in EventView view, ReadOnlySpan<KeyPart> parts)
    {
        Span<byte> key = stackalloc byte[GroupKey.MaxBytes];
        int length = GroupKey.Build(in view, parts, key);
        return length < 0 ? 0 : GroupKey.Hash(key[..length]);
    }

    private static FieldCatalog RandomCatalog(Random random)
    {
        var builder = new FieldCatalog.Builder();
        int count = random.Next(0, 12);
        var chosen = new List<string>();
        for (int i = 0; i < count; i++)
        {
            string name = Names[random.Next(Names.Length)];
            builder.AddField(name);
            chosen.Add(name);
        }

        if (random.Next(4) != 0)
        {
            builder.AddKey([KeyPart.Type, KeyPart.Key]);
        }

        if (chosen.Count > 0 && random.Next(2) == 0)
        {
            builder.AddKey([KeyPart.Named(chosen[random.Next(chosen.Count)]), KeyPart.Key, KeyPart.Named(chosen[random.Next(chosen.Count)])]);
        }

        return builder.Build();
    }

    private static string RandomLine(Random random)
    {
        var text = new StringBuilder("{");
        int members = random.Next(0, 9);
        for (int m = 0; m < members; m++)
        {
            if (m > 0)
            {
                text.Append(random.Next(8) == 0 ? " , " : ",");
            }

            string name = random.Next(6) == 0 ? RandomWord(random, 1, 20) : Names[random.Next(Names.Length)];
            text.Append('"').Append(Spell(random, name)).Append('"').Append(random.Next(8) == 0 ? " : " : ":");
            text.Append(RandomValue(random, name));
        }

        return text.Append('}').Append(random.Next(8) == 0 ? " " : "").ToString();
    }

    /// <summary>A name or string as JSON text: plain, or with some characters escaped.</summary>
    private static string Spell(Random random, string value)
    {
        var text = new StringBuilder();
        bool escapeSome = random.Next(4) == 0;
        foreach (char c in value)
        {
            if (c < 0x20 || c == '"' || c == '\\' || (escapeSome && random.Next(3) == 0))
            {
                text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
            else
            {
                text.Append(c);
            }
        }

        return text.ToString();
    }

    private static string RandomValue(Random random, string name)
    {
        // The well-known names mostly get values of their own kind, so most lines decode.
        int pick = random.Next(10);
        if (pick < 7)
        {
            switch (name)
            {
                case "ts":
                    return random.NextInt64(-5, long.MaxValue).ToString(CultureInfo.InvariantCulture);
                case "value":
                    return (random.Next(-100_000, 100_000) / 100.0).ToString("R", CultureInfo.InvariantCulture);
                case "type":
                case "key":
                    return "\"" + Spell(random, RandomWord(random, 0, 20)) + "\"";
            }
        }

        return random.Next(8) switch
        {
            0 => random.Next(-1000, 1000).ToString(CultureInfo.InvariantCulture),
            1 => "12.5e-3",
            2 => random.Next(2) == 0 ? "true" : "false",
            3 => "null",
            4 => "{\"a\":[1,{\"b\":\"c\"}]}",
            5 => "[]",
            _ => "\"" + Spell(random, RandomWord(random, 0, 40)) + "\"",
        };
    }

    private static string RandomWord(Random random, int min, int max)
    {
        const string Letters = "abcdefghkmtuvy-0\u00e9";
        var word = new StringBuilder();
        int length = random.Next(min, max + 1);
        for (int i = 0; i < length; i++)
        {
            word.Append(Letters[random.Next(Letters.Length)]);
        }

        return word.ToString();
    }
}
