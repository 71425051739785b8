using System.Globalization;
using System.Text;
using CsCheck;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Fields;
using Xunit;

namespace EventDaemon.Events.Tests.Codecs;

/// <summary>
/// A reader's <see cref="MemberOrder"/> is only a shortcut: every line of a stream decodes exactly
/// as it does without one (verdict, reason, slot and row, byte for byte). The streams keep their
/// member order for a while and then change it: members swapped, dropped, added, renamed to a name
/// that shares the predicted one's prefix, that extends it or that it extends, spelled with escapes,
/// of 14–17 bytes around the one-load limit, non-ASCII; lines cut short so that a name runs into
/// the end of the buffer, lines shorter than a load, whitespace around names, and byte mutations.
/// </summary>
public class MemberOrderDifferentialTests
{
    private static readonly string[] Names =
    [
        "ts", "type", "key", "value", "region", "msg", "t", "ty", "typ", "types", "type_", "typf", "tz", "k", "ke", "keys",
        "regio", "region2", "regioN", "valu", "values", "m", "ms", "msgs", "abcdefghijklmn", "abcdefghijklmno",
        "abcdefghijklmnop", "abcdefghijklmnopq", "abcdefghijklmnoX", "r\u00e9gion", "a\u007fb", "a b", "", "ts\u0000",
    ];

    [Fact]
    public void RandomStreamsWhoseMemberOrderChanges_DecodeAsWithoutPrediction_FieldByField()
    {
        Gen.Int.Sample(seed =>
        {
            var random = new Random(seed);
            FieldCatalog[] catalogs = [RandomCatalog(random), RandomCatalog(random)];
            FieldCatalog catalog = catalogs[0];
            var order = default(MemberOrder);
            var stream = new SenderStream(random);
            int lines = random.Next(1, 40);
            for (int n = 0; n < lines; n++)
            {
                if (random.Next(20) == 0)
                {
                    // A reload: the predictions were made with another catalog's table.
                    catalog = catalogs[random.Next(catalogs.Length)];
                }

                byte[] line = stream.Next();
                AssertSameDecode(line, catalog, ref order, $"seed {seed}, line {n} of a stream");
            }
        }, iter: 4_000);
    }

    [Theory]
    [InlineData("""{"typ":1}""", """{"type":"view"}""")] // the predicted name is a prefix of this one
    [InlineData("""{"type":"view"}""", """{"typ":1}""")] // this name is a prefix of the predicted one
    [InlineData("""{"type":"view"}""", """{"typf":"view"}""")] // same length, last byte differs
    [InlineData("""{"type":"view"}""", """{"t\u0079pe":"click"}""")] // the same name, escaped
    [InlineData("""{"t\u0079pe":"view"}""", """{"type":"click"}""")]
    [InlineData("""{"type":"view"}""", """{"type\u0041":"click"}""")] // the predicted bytes, then an escape
    [InlineData("""{"type":"view"}""", """{"type\"":"click"}""")] // the predicted bytes, then an escaped quote
    [InlineData("""{"abcdefghijklmno":1,"key":"a"}""", """{"abcdefghijklmnop":2,"key":"b"}""")] // 15 bytes, then 16: past one load
    [InlineData("""{"abcdefghijklmnop":1}""", """{"abcdefghijklmno":2}""")]
    [InlineData("""{"abcdefghijklmn":1}""", """{"abcdefghijklmno":2}""")]
    [InlineData("""{"ts":1,"key":"a","msg":"x"}""", """{"ts":1,"key":"a","msg""")] // the last name cut at the buffer's end
    [InlineData("""{"ts":1,"key":"a","msg":"x"}""", """{"ts":1,"key":"a","ms""")]
    [InlineData("""{"ts":1,"key":"a","msg":"x"}""", """{"ts":1,"key":"a","msg"}""")] // the name then the end of the object
    [InlineData("""{"ts":1,"key":"a","msg":"x"}""", """{"ts":1,"key":"a","msg":""")]
    [InlineData("""{"ts":1,"key":"a","msg":"x"}""", """{"ts":1,"key":"a","msg""" + "\"\u0000")]
    [InlineData("""{"ts":1,"key":"a","value":2}""", """{"ts":1,"key":"a","value""" + "\u0001\":2}")] // a control byte where the quote was
    [InlineData("""{"key":"a"}""", """{"key":"a"}""")]
    [InlineData("""{"key":"a"}""", """{"ke":"a"}""")] // shorter than one load
    [InlineData("""{"ts":1,"type":"a","key":"b","value":2,"region":"eu","msg":"zz"}""", """{"ts":1,"type":"a","key":"b","value":2,"region":"eu","msg":"zz"}""")]
    [InlineData("""{"ts":1,"type":"a","key":"b","value":2,"region":"eu","msg":"zz"}""", """{"type":"a","ts":1,"value":2,"key":"b","msg":"zz","region":"eu"}""")]
    [InlineData("""{"ts":1,"type":"a","key":"b","value":2,"region":"eu","msg":"zz"}""", """{ "ts" : 1 , "type" :"a","key":"b","value":2,"region":"eu","msg":"zz"}""")]
    [InlineData("""{"ts":1,"type":"a","key":"b","value":2,"region":"eu","msg":"zz"}""", """{"ts":1,"type":"a","key":"b","value":2,"region":"eu","region":"us"}""")] // duplicate: last wins
    [InlineData("""{"region":"eu","x":1}""", """{"r\u00e9gion":"eu","x":1}""")] // non-ASCII where the prediction was
    public void ASecondLine_AfterAFirstThatSetThePredictions_DecodesAsWithoutPrediction(string first, string second)
    {
        var builder = new FieldCatalog.Builder();
        builder.AddField("region");
        builder.AddField("typ");
        builder.AddField("abcdefghijklmno");
        builder.AddField("abcdefghijklmnop");
        builder.AddKey([KeyPart.Type, KeyPart.Key]);
        // As written (most are shorter than one load) and after 16 spaces, so that every name is
        // loaded from the line, the early ones directly and the late ones from its last 16 bytes.
        foreach (string indent in new[] { "", new string(' ', 16) })
        {
            foreach (FieldCatalog catalog in new[] { FieldCatalog.Empty, builder.Build() })
            {
                var order = default(MemberOrder);
                string a = indent + first, b = indent + second;
                AssertSameDecode(Encoding.UTF8.GetBytes(a), catalog, ref order, $"first line '{a}'");
                AssertSameDecode(Encoding.UTF8.GetBytes(b), catalog, ref order, $"second line '{b}' after '{a}'");
                AssertSameDecode(Encoding.UTF8.GetBytes(a), catalog, ref order, $"first line '{a}' again after '{b}'");
            }
        }
    }

    [Fact]
    public void TheSameStream_DecodedWithPrediction_ReadsEachLinesOwnValues()
    {
        // Predicted names settle positions; the values after them are still each line's own.
        var builder = new FieldCatalog.Builder();
        builder.AddField("region");
        builder.AddKey([KeyPart.Type, KeyPart.Key]);
        FieldCatalog catalog = builder.Build();
        var order = default(MemberOrder);
        byte[] row = new byte[catalog.RowBytes];
        for (int n = 0; n < 100; n++)
        {
            string region = n % 3 == 0 ? "ap" : "eu-west-" + n;
            byte[] line = Encoding.UTF8.GetBytes($$"""{"ts":{{1_764_151_200_000_000_000L + n}},"type":"view","key":"user-{{n:D4}}","value":{{n}}.5,"region":"{{region}}","msg":"m"}""");
            var slot = default(EventSlot);
            Assert.True(JsonEventParser.TryParse(line, ref slot, catalog, row, ref order, out InvalidReason reason), $"line {n} should decode: {reason.Label()}");
            FieldRef field = catalog.Fields(row)[0];
            string read = Encoding.UTF8.GetString(line.AsSpan(field.ToScalar().Offset, field.ToScalar().Length));
            string key = Encoding.UTF8.GetString(line.AsSpan(slot.KeyOffset, slot.KeyLength));
            Assert.True(slot.Timestamp == 1_764_151_200_000_000_000L + n && slot.Value == n + 0.5 && key == $"user-{n:D4}" && read == region,
                $"line {n}: ts {slot.Timestamp}, value {slot.Value}, key {key}, region {read}");
        }
    }

    [Fact]
    public void AfterTheCatalogChanges_TheOldCatalogsLookupsAreNotReused()
    {
        // A reload: the same names are other fields now (region was field 0, is field 1).
        var before = new FieldCatalog.Builder();
        before.AddField("region");
        var after = new FieldCatalog.Builder();
        after.AddField("msg");
        after.AddField("region");
        FieldCatalog first = before.Build(), second = after.Build();
        byte[] line = Encoding.UTF8.GetBytes("""{"ts":1764151200000000000,"region":"eu","msg":"hello"}""");
        var order = default(MemberOrder);
        AssertSameDecode(line, first, ref order, "under the first catalog");
        AssertSameDecode(line, second, ref order, "under the second catalog, after the first");
        AssertSameDecode(line, first, ref order, "under the first catalog again");
    }

    /// <summary>Decodes <paramref name="line"/> with <paramref name="order"/> and without any, from the same starting slot, and compares everything.</summary>
    private static void AssertSameDecode(byte[] line, FieldCatalog catalog, ref MemberOrder order, string context)
    {
        var start = new EventSlot { Flags = EventFlags.Binary, Timestamp = 7, Value = 1.25, TypeOffset = 3, KeyOffset = 5, Aux = 9 };
        byte[] expectedRow = new byte[catalog.RowBytes];
        byte[] row = new byte[catalog.RowBytes];
        EventSlot expected = start, slot = start;
        bool expectedOk = JsonEventParser.TryParse(line, ref expected, catalog, expectedRow, out InvalidReason expectedReason);
        bool ok = JsonEventParser.TryParse(line, ref slot, catalog, row, ref order, out InvalidReason reason);
        string shown = $"{context}: {Encoding.UTF8.GetString(line)} with {catalog}";
        Assert.True(ok == expectedOk && reason == expectedReason,
            $"verdict with prediction {ok}/{reason.Label()}, without {expectedOk}/{expectedReason.Label()}: {shown}");
        Assert.True(slot.Flags == expected.Flags && slot.Timestamp == expected.Timestamp
            && BitConverter.DoubleToInt64Bits(slot.Value) == BitConverter.DoubleToInt64Bits(expected.Value)
            && slot.TypeOffset == expected.TypeOffset && slot.TypeLength == expected.TypeLength
            && slot.KeyOffset == expected.KeyOffset && slot.KeyLength == expected.KeyLength
            && slot.PayloadLength == expected.PayloadLength && slot.Aux == expected.Aux,
            $"slot with prediction {Describe(slot)}, without {Describe(expected)}: {shown}");
        if (ok)
        {
            Assert.True(row.AsSpan().SequenceEqual(expectedRow), $"row with prediction {Convert.ToHexString(row)}, without {Convert.ToHexString(expectedRow)}: {shown}");
        }
    }

    private static string Describe(in EventSlot s) =>
        $"flags {s.Flags} ts {s.Timestamp} value {s.Value} type {s.TypeOffset}+{s.TypeLength} key {s.KeyOffset}+{s.KeyLength} length {s.PayloadLength} aux {s.Aux}";

    private static FieldCatalog RandomCatalog(Random random)
    {
        var builder = new FieldCatalog.Builder();
        int count = random.Next(0, 8);
        for (int i = 0; i < count; i++)
        {
            string name = Names[random.Next(Names.Length)];
            if (name.Length != 0)
            {
                builder.AddField(name);
            }
        }

        if (random.Next(3) != 0)
        {
            builder.AddKey([KeyPart.Type, KeyPart.Key]);
        }

        return builder.Build();
    }

    /// <summary>Lines of one sender: a member order kept from line to line, changed now and then, the values new on every line.</summary>
    private sealed class SenderStream(Random random)
    {
        private readonly List<string> _order = [.. RandomOrder(random)];

        public byte[] Next()
        {
            // Most lines keep the order; some change it for good, some only once.
            List<string> members = _order;
            int change = random.Next(10);
            if (change >= 6)
            {
                members = change >= 8 ? _order : [.. _order];
                Change(members);
            }

            byte[] line = Render(members);
            return random.Next(12) switch
            {
                // Cut short: the last name or value runs into the end of the buffer.
                0 => line[..random.Next(Math.Max(0, line.Length - 24), line.Length + 1)],
                1 => Mutate(line),
                _ => line,
            };
        }

        private static List<string> RandomOrder(Random random)
        {
            var order = new List<string>();
            int count = random.Next(0, 10);
            for (int i = 0; i < count; i++)
            {
                order.Add(random.Next(3) == 0 ? Names[random.Next(Names.Length)] : Names[random.Next(6)]);
            }

            return order;
        }

        private void Change(List<string> members)
        {
            switch (random.Next(4))
            {
                case 0 when members.Count >= 2:
                    int a = random.Next(members.Count), b = random.Next(members.Count);
                    (members[a], members[b]) = (members[b], members[a]);
                    break;
                case 1 when members.Count >= 1:
                    members.RemoveAt(random.Next(members.Count));
                    break;
                case 2:
                    members.Insert(random.Next(members.Count + 1), Names[random.Next(Names.Length)]);
                    break;
                default:
                    if (members.Count >= 1)
                    {
                        members[random.Next(members.Count)] = Names[random.Next(Names.Length)];
                    }

                    break;
            }
        }

        private byte[] Render(List<string> members)
        {
            var text = new StringBuilder(random.Next(16) == 0 ? " {" : "{");
            for (int m = 0; m < members.Count; m++)
            {
                if (m > 0)
                {
                    text.Append(random.Next(16) == 0 ? " ,\t" : ",");
                }

                string name = members[m];
                text.Append(random.Next(16) == 0 ? " \"" : "\"").Append(Spell(name)).Append('"').Append(random.Next(16) == 0 ? " : " : ":");
                text.Append(Value(name));
            }

            return Encoding.UTF8.GetBytes(text.Append('}').Append(random.Next(16) == 0 ? " " : "").ToString());
        }

        /// <summary>A name as JSON text: as it is (mostly), or with some characters escaped.</summary>
        private string Spell(string name)
        {
            bool escapeSome = random.Next(8) == 0;
            var text = new StringBuilder();
            foreach (char c in name)
            {
                if (c < 0x20 || c == '"' || c == '\\' || (escapeSome && random.Next(3) == 0))
                {
                    text.Append(random.Next(2) == 0 && c == '/' ? "\\/" : "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture));
                }
                else
                {
                    text.Append(c);
                }
            }

            return text.ToString();
        }

        private string Value(string name)
        {
            if (random.Next(10) < 8)
            {
                switch (name)
                {
                    case "ts":
                        return random.NextInt64(1_764_151_200_000_000_000, 1_864_151_200_000_000_000).ToString(CultureInfo.InvariantCulture);
                    case "value":
                        return (random.Next(0, 100_000) / 100.0).ToString("R", CultureInfo.InvariantCulture);
                    case "type":
                    case "key":
                        return "\"" + Word(0, 12) + "\"";
                }
            }

            return random.Next(7) switch
            {
                0 => random.Next(-1000, 1000).ToString(CultureInfo.InvariantCulture),
                1 => "12.5e-3",
                2 => random.Next(2) == 0 ? "true" : "false",
                3 => "null",
                4 => "{\"type\":[1,{\"key\":\"c\"}]}",
                5 => "[\"ts\",2]",
                _ => "\"" + Word(0, 24) + "\"",
            };
        }

        private string Word(int min, int max)
        {
            const string Letters = "abcdeftyp-0\u00e9\"";
            var word = new StringBuilder();
            int length = random.Next(min, max + 1);
            for (int i = 0; i < length; i++)
            {
                char c = Letters[random.Next(Letters.Length)];
                word.Append(c == '"' ? "\\\"" : c.ToString());
            }

            return word.ToString();
        }

        private byte[] Mutate(byte[] line)
        {
            const string Bytes = "{}[]\":,\\ 0-1eE.tfnu\u0000";
            var bytes = new List<byte>(line);
            int at = random.Next(0, bytes.Count + 1);
            byte b = random.Next(4) == 0 ? (byte)random.Next(256) : (byte)Bytes[random.Next(Bytes.Length)];
            switch (random.Next(3))
            {
                case 0 when at < bytes.Count:
                    bytes.RemoveAt(at);
                    break;
                case 1 when at < bytes.Count:
                    bytes[at] = b;
                    break;
                default:
                    bytes.Insert(at, b);
                    break;
            }

            return [.. bytes];
        }
    }
}
