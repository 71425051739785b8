using System.Globalization;
using System.Text;
using System.Text.Json;
using CsCheck;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Fields;
using EventDaemon.Events.Tests.Support;
using Xunit;

namespace EventDaemon.Events.Tests.Codecs;

/// <summary>Our decoder against System.Text.Json on random events: both must agree on every well-known field.</summary>
public class JsonEventParserDifferentialTests
{
    private static readonly InvalidReason[] SyntaxReasons =
        [InvalidReason.NotJson, InvalidReason.TrailingData, InvalidReason.TooDeep, InvalidReason.InvalidUtf8];

    [Fact]
    public void RandomEvents_DecodeLikeJsonDocument()
    {
        Gen.Int.Sample(seed =>
        {
            string text = new RandomJson(new Random(seed)).Line();
            byte[] line = Encoding.UTF8.GetBytes(text);
            Parsed expected = Oracle.ExpectedOrNull(line, out bool stjAccepted, out JsonDocument? doc)
                ?? throw new InvalidOperationException($"generator produced invalid JSON: {text}");
            using (doc)
            {
                Parsed actual = Parsed.Json(line);
                AssertAgree(expected, actual, text);
                if (actual.Ok)
                {
                    Assert.True(actual.Slot.PayloadLength == line.Length, $"all bytes are kept: PayloadLength {actual.Slot.PayloadLength} != {line.Length} for {text}");
                    AssertFieldReaderAgrees(line, doc!.RootElement, text);
                }
            }
        }, iter: 20_000);
    }

    [Fact]
    public void MutatedEvents_AreRejectedExactlyWhenJsonDocumentRejectsThem()
    {
        Gen.Int.Sample(seed =>
        {
            var random = new Random(seed);
            var json = new RandomJson(random);
            byte[] line = json.Mutate(Encoding.UTF8.GetBytes(json.Line()));
            string shown = Convert.ToHexString(line);
            Parsed actual = Parsed.Json(line);
            if (!IsStrictUtf8(line))
            {
                // JsonDocument does not validate UTF-8 inside strings, so it is no oracle here.
                Assert.True(!actual.Ok && actual.Reason == InvalidReason.InvalidUtf8, $"invalid UTF-8 must be invalid_utf8, got {actual.Reason.Label()} for {shown}");
                return;
            }

            Parsed? expected;
            bool stjAccepted;
            JsonDocument? doc;
            try
            {
                expected = Oracle.ExpectedOrNull(line, out stjAccepted, out doc);
            }
            catch (InvalidOperationException)
            {
                // A mutation split a \uD83D\uDE00 pair: valid JSON that JsonDocument cannot turn
                // into a string, so it is no oracle for this line (lone surrogates have their own test).
                return;
            }

            using (doc)
            {

                if (!stjAccepted)
                {
                    Assert.False(actual.Ok, $"JsonDocument rejects it, so must we: {shown}");
                    Assert.True(Array.IndexOf(SyntaxReasons, actual.Reason) >= 0, $"a syntax error needs a syntax reason, got {actual.Reason.Label()} for {shown}");
                    return;
                }

                AssertAgree(expected!, actual, shown);
            }
        }, iter: 30_000);
    }

    private static void AssertAgree(Parsed expected, Parsed actual, string shown)
    {
        Assert.True(expected.Ok == actual.Ok, $"validity differs: expected ok={expected.Ok} ({expected.Reason.Label()}), got ok={actual.Ok} ({actual.Reason.Label()}) for {shown}");
        Assert.True(expected.Reason == actual.Reason, $"reason differs: expected {expected.Reason.Label()}, got {actual.Reason.Label()} for {shown}");
        if (!expected.Ok)
        {
            return;
        }

        Assert.True(expected.Ts == actual.Ts, $"ts differs: expected {expected.Ts}, got {actual.Ts} for {shown}");
        Assert.True(expected.Type == actual.Type, $"type differs: expected '{expected.Type}', got '{actual.Type}' for {shown}");
        Assert.True(expected.Key == actual.Key, $"key differs: expected '{expected.Key}', got '{actual.Key}' for {shown}");
        Assert.True(
            expected.Value.HasValue == actual.Value.HasValue
            && (!expected.Value.HasValue || BitConverter.DoubleToInt64Bits(expected.Value.Value) == BitConverter.DoubleToInt64Bits(actual.Value!.Value)),
            $"value differs: expected {expected.Value:R}, got {actual.Value:R} for {shown}");
    }

    private static void AssertFieldReaderAgrees(byte[] line, JsonElement root, string shown)
    {
        var last = new Dictionary<string, JsonElement>();
        foreach (JsonProperty p in root.EnumerateObject())
        {
            last[p.Name] = p.Value;
        }

        foreach ((string name, JsonElement expected) in last)
        {
            bool found = JsonFieldReader.TryGetField(line, Encoding.UTF8.GetBytes(name), out JsonScalar actual);
            Assert.True(found, $"field '{name}' not found by JsonFieldReader in {shown}");
            JsonScalarKind kind = expected.ValueKind switch
            {
                JsonValueKind.String => JsonScalarKind.String,
                JsonValueKind.Number => JsonScalarKind.Number,
                JsonValueKind.True => JsonScalarKind.True,
                JsonValueKind.False => JsonScalarKind.False,
                JsonValueKind.Null => JsonScalarKind.Null,
                JsonValueKind.Object => JsonScalarKind.Object,
                _ => JsonScalarKind.Array,
            };
            Assert.True(actual.Kind == kind, $"field '{name}': kind {actual.Kind}, JsonDocument says {expected.ValueKind} in {shown}");
            if (kind == JsonScalarKind.String)
            {
                string got = Parsed.Unescape(actual.RawIn(line), actual.Escaped);
                Assert.True(got == expected.GetString(), $"field '{name}': '{got}' != '{expected.GetString()}' in {shown}");
                Assert.True(JsonString.EqualsUnescaped(actual.RawIn(line), actual.Escaped, Encoding.UTF8.GetBytes(expected.GetString()!)), $"field '{name}': EqualsUnescaped disagrees in {shown}");
            }
            else if (kind == JsonScalarKind.Number)
            {
                double d = double.Parse(expected.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture);
                Assert.True(BitConverter.DoubleToInt64Bits(d) == BitConverter.DoubleToInt64Bits(actual.GetDouble(line)), $"field '{name}': {actual.GetDouble(line):R} != {d:R} in {shown}");
            }
            else
            {
                Assert.True(Encoding.UTF8.GetString(actual.RawIn(line)) == expected.GetRawText(), $"field '{name}': raw bytes differ in {shown}");
            }
        }
    }

    private static bool IsStrictUtf8(byte[] bytes)
    {
        try
        {
            _ = new UTF8Encoding(false, true).GetString(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
