using System.Text;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Tests.Support;
using Xunit;

namespace EventDaemon.Events.Tests.Codecs;

public class JsonEventParserTests
{
    [Fact]
    public void TryParse_WellKnownFields_AreDecodedAndLocatedInTheLine()
    {
        const string line = """{"ts":1764151200000000000,"type":"purchase","key":"user-42","value":19.5,"extra":{"a":[1,2]}}""";
        Parsed p = Parsed.Json(line);

        Assert.True(p.Ok, $"line should be valid, got {p.Reason}");
        Assert.True(p.Ts == 1764151200000000000, $"ts: got {p.Ts}");
        Assert.True(p.Type == "purchase", $"type: got '{p.Type}'");
        Assert.True(p.Key == "user-42", $"key: got '{p.Key}'");
        Assert.True(p.Value == 19.5, $"value: got {p.Value}");
        Assert.True(p.Slot.PayloadLength == Encoding.UTF8.GetByteCount(line), $"payload length should be the whole line, got {p.Slot.PayloadLength}");
        Assert.True(p.Slot.TypeOffset == line.IndexOf("purchase", StringComparison.Ordinal), $"type offset should point at the string content, got {p.Slot.TypeOffset}");
        Assert.True((p.Slot.Flags & (EventFlags.TypeEscaped | EventFlags.KeyEscaped | EventFlags.Binary)) == 0, $"no escape/binary flags expected, got {p.Slot.Flags}");
    }

    [Theory]
    [InlineData("""{"ts":5,"type":"view","key":"k","value":1.5}""")]
    [InlineData("""{"ts" :5,"type": "view","key"	:	"k" ,"value":1.5 }""")]
    [InlineData("{\r\n \"ts\":\n5,\n \"type\":\"view\",\n \"key\":\"k\"\r\n,\"value\"\n:\n1.5\n}")]
    public void TryParse_CompactOrSpacedSeparators_DecodeAlike(string line)
    {
        Parsed p = Parsed.Json(line);
        Assert.True(p.Ok, $"{line} should be valid, got {p.Reason}");
        Assert.True(p.Ts == 5 && p.Type == "view" && p.Key == "k" && p.Value == 1.5, $"{line}: got ts {p.Ts}, type '{p.Type}', key '{p.Key}', value {p.Value}");
    }

    [Theory]
    [InlineData("""{"ts":5,"type":"view",}""")]
    [InlineData("""{"ts":,"type":"view"}""")]
    [InlineData("""{"ts"::5}""")]
    [InlineData("""{"ts":5,,"type":"view"}""")]
    [InlineData("""{"ts":5,"type":"view","}""")]
    [InlineData("""{"ts":5,"type":}""")]
    [InlineData("""{"ts":5,"type":"view":1}""")]
    public void TryParse_MisplacedSeparatorInCompactLine_IsNotJson(string line)
    {
        Parsed p = Parsed.Json(line);
        Assert.True(p.Reason == InvalidReason.NotJson, $"{line} should be not_json, got {(p.Ok ? "valid" : p.Reason)}");
    }

    [Fact]
    public void TryParse_EmptyObject_IsValidWithNoFields()
    {
        Parsed p = Parsed.Json("  {  }  ");
        Assert.True(p.Ok, $"empty object should be valid, got {p.Reason}");
        Assert.True(p.Slot.Flags == EventFlags.None, $"no fields expected, got {p.Slot.Flags}");
    }

    [Fact]
    public void TryParse_EscapedStrings_AreFlaggedAndKeptRaw()
    {
        Parsed p = Parsed.Json("""{"t\u0079pe":"a\"b","key":"\u00e9\ud83d\ude00"}""");
        Assert.True(p.Ok, $"should be valid, got {p.Reason}");
        Assert.True(p.Type == "a\"b", $"escaped name should be recognised as type and unescape to a\"b, got '{p.Type}'");
        Assert.True(p.Key == "é😀", $"key should unescape to é😀, got '{p.Key}'");
        Assert.True((p.Slot.Flags & EventFlags.TypeEscaped) != 0 && (p.Slot.Flags & EventFlags.KeyEscaped) != 0, $"escape flags expected, got {p.Slot.Flags}");
    }

    [Fact]
    public void TryParse_LoneSurrogateEscape_IsAcceptedAndReadsAsReplacementCharacter()
    {
        Parsed p = Parsed.Json("""{"type":"a\ud83dz","key":"\ude00"}""");
        Assert.True(p.Ok, $"lone surrogate escapes are valid JSON syntax, got {p.Reason.Label()}");
        Assert.True(p.Type == "a\uFFFDz" && p.Key == "\uFFFD", $"lone surrogates should unescape to U+FFFD, got '{p.Type}' '{p.Key}'");
    }

    [Theory]
    [InlineData("""{"value":1,"value":2}""", 2.0)]
    [InlineData("""{"value":"x","value":3}""", 3.0)]
    public void TryParse_DuplicateWellKnownField_LastOccurrenceWins(string line, double expected)
    {
        Parsed p = Parsed.Json(line);
        Assert.True(p.Ok, $"earlier bad occurrence must not invalidate the line, got {p.Reason}");
        Assert.True(p.Value == expected, $"last value should win, got {p.Value}");
    }

    [Fact]
    public void TryParse_DuplicateWellKnownField_LaterBadOccurrenceMakesLineInvalid()
    {
        Parsed p = Parsed.Json("""{"value":3,"value":"x"}""");
        Assert.True(!p.Ok && p.Reason == InvalidReason.BadValue, $"the last (bad) value decides, got ok={p.Ok} reason={p.Reason}");
    }

    [Theory]
    [InlineData("""{"ts":-1}""", -1L)]
    [InlineData("""{"ts":0}""", 0L)]
    [InlineData("""{"ts":9223372036854775807}""", long.MaxValue)]
    [InlineData("""{"ts":-9223372036854775808}""", long.MinValue)]
    [InlineData("""{"ts":"1970-01-01T00:00:00Z"}""", 0L)]
    [InlineData("""{"ts":"2025-11-26T10:00:00.5+01:00"}""", 1764147600500000000L)]
    [InlineData("""{"ts":"2025-11-26T10:00:00\u002e5+01:00"}""", 1764147600500000000L)]
    public void TryParse_Ts_AcceptsIntegerNanosAndRfc3339(string line, long expected)
    {
        Parsed p = Parsed.Json(line);
        Assert.True(p.Ok, $"{line} should be valid, got {p.Reason}");
        Assert.True(p.Ts == expected, $"{line}: expected ts {expected}, got {p.Ts}");
    }

    [Fact]
    public void TryParse_EscapedRfc3339Ts_IsUnescapedWhateverItsLength()
    {
        // Escapes make the raw string longer than the stack buffer (found by the differential test),
        // and a long fraction longer than the pooled-buffer threshold.
        string shortForm = "2016-12-25T21:32:01.370116760+14:51";
        string escaped = string.Concat(shortForm.Select(ch => $"\\u{(int)ch:x4}"));
        string longFraction = "2016-12-25T21:32:01.37011676" + new string('9', 400) + "+14:51";
        long expected = 1482701521370116760L - (((14 * 60) + 51) * 60_000_000_000L);

        Parsed a = Parsed.Json("{\"ts\":\"" + escaped + "\"}");
        Parsed b = Parsed.Json("{\"ts\":\"\\u0032" + longFraction[1..] + "\"}");

        Assert.True(a.Ok && a.Ts == expected, $"fully escaped ts ({escaped.Length} raw bytes): got {a.Reason.Label()} {a.Ts}, expected {expected}");
        Assert.True(b.Ok && b.Ts == expected + 9, $"escaped ts with a 400-digit fraction: got {b.Reason.Label()} {b.Ts}, expected {expected + 9}");
    }

    public static TheoryData<string, InvalidReason> MalformedCorpus => new()
    {
        // Not JSON at all / broken syntax.
        { "", InvalidReason.NotJson },
        { "   ", InvalidReason.NotJson },
        { "hello", InvalidReason.NotJson },
        { "{", InvalidReason.NotJson },
        { """{"type":"click""", InvalidReason.NotJson },
        { """{"type":"click",}""", InvalidReason.NotJson },
        { """{"type" "click"}""", InvalidReason.NotJson },
        { """{type:"click"}""", InvalidReason.NotJson },
        { """{'type':'click'}""", InvalidReason.NotJson },
        { """{"a":01}""", InvalidReason.NotJson },
        { """{"a":1.}""", InvalidReason.NotJson },
        { """{"a":.5}""", InvalidReason.NotJson },
        { """{"a":+1}""", InvalidReason.NotJson },
        { """{"a":1e}""", InvalidReason.NotJson },
        { """{"a":NaN}""", InvalidReason.NotJson },
        { """{"a":tru}""", InvalidReason.NotJson },
        { """{"a":[1,2}""", InvalidReason.NotJson },
        { """{"a":{"b":1]}""", InvalidReason.NotJson },
        { """{"a":"\x"}""", InvalidReason.NotJson },
        { """{"a":"\u12G4"}""", InvalidReason.NotJson },
        { "{\"a\":\"tab\there\"}", InvalidReason.NotJson },
        { "{\"a\":\"nul\0here\"}", InvalidReason.NotJson },
        { "{\"a\":1}\0", InvalidReason.NotJson },
        { "{\"a\":1} x\0", InvalidReason.NotJson },
        { "\0{\"a\":1}", InvalidReason.NotJson },
        { "{\"a\":1 /* c */}", InvalidReason.NotJson },
        { "\u00a0{\"a\":1}", InvalidReason.NotJson },

        // Valid JSON, wrong shape.
        { "[1,2]", InvalidReason.NotObject },
        { "\"str\"", InvalidReason.NotObject },
        { "42", InvalidReason.NotObject },
        { "null", InvalidReason.NotObject },
        { """{"a":1} {"b":2}""", InvalidReason.TrailingData },
        { """{"a":1}x""", InvalidReason.TrailingData },

        // Well-known fields of the wrong type.
        { """{"ts":1.5}""", InvalidReason.BadTs },
        { """{"ts":1e9}""", InvalidReason.BadTs },
        { """{"ts":9223372036854775808}""", InvalidReason.BadTs },
        { """{"ts":"yesterday"}""", InvalidReason.BadTs },
        { """{"ts":"1764151200"}""", InvalidReason.BadTs },
        { """{"ts":"2025-02-29T00:00:00Z"}""", InvalidReason.BadTs },
        { """{"ts":"2025-11-26T10:00:00"}""", InvalidReason.BadTs },
        { """{"ts":null}""", InvalidReason.BadTs },
        { """{"ts":true}""", InvalidReason.BadTs },
        { """{"ts":{"s":1}}""", InvalidReason.BadTs },
        { """{"type":1}""", InvalidReason.BadType },
        { """{"type":null}""", InvalidReason.BadType },
        { """{"type":["a"]}""", InvalidReason.BadType },
        { """{"key":false}""", InvalidReason.BadKey },
        { """{"value":"3"}""", InvalidReason.BadValue },
        { """{"value":null}""", InvalidReason.BadValue },
        { """{"value":1e400}""", InvalidReason.BadValue },
        { """{"value":-1e400}""", InvalidReason.BadValue },

        // Field order of reasons: ts before type before key before value.
        { """{"value":"x","key":1,"type":2,"ts":"x"}""", InvalidReason.BadTs },
        { """{"value":"x","key":1,"type":2}""", InvalidReason.BadType },

        // Syntax wins over fields.
        { """{"ts":"x","a":}""", InvalidReason.NotJson },
    };

    [Theory]
    [MemberData(nameof(MalformedCorpus))]
    public void TryParse_MalformedLine_IsRejectedWithItsDocumentedReason(string line, InvalidReason expected)
    {
        Parsed p = Parsed.Json(line);
        Assert.False(p.Ok, $"'{line}' must be rejected");
        Assert.True(p.Reason == expected, $"'{line}': expected {expected.Label()}, got {p.Reason.Label()}");
    }

    [Theory]
    [InlineData(new byte[] { (byte)'{', (byte)'"', (byte)'a', (byte)'"', (byte)':', (byte)'"', 0xFF, (byte)'"', (byte)'}' })]
    [InlineData(new byte[] { (byte)'{', (byte)'"', (byte)'a', (byte)'"', (byte)':', (byte)'"', 0xC3, (byte)'"', (byte)'}' })]
    [InlineData(new byte[] { (byte)'{', (byte)'"', (byte)'a', (byte)'"', (byte)':', (byte)'"', 0xED, 0xA0, 0x80, (byte)'"', (byte)'}' })]
    [InlineData(new byte[] { (byte)'{', (byte)'"', (byte)'a', (byte)'"', (byte)':', (byte)'"', 0xC0, 0xAF, (byte)'"', (byte)'}' })]
    public void TryParse_InvalidUtf8_IsRejectedAsInvalidUtf8(byte[] line)
    {
        Parsed p = Parsed.Json(line);
        Assert.True(!p.Ok && p.Reason == InvalidReason.InvalidUtf8, $"{Convert.ToHexString(line)}: expected invalid_utf8, got ok={p.Ok} {p.Reason.Label()}");
    }

    [Theory]
    [InlineData(63, true)]
    [InlineData(64, false)]
    [InlineData(1000, false)]
    public void TryParse_NestingBeyond64Levels_IsTooDeep(int innerArrays, bool valid)
    {
        // The line's own object is level 1, so 63 inner arrays reach exactly 64.
        string line = "{\"a\":" + new string('[', innerArrays) + new string(']', innerArrays) + "}";
        Parsed p = Parsed.Json(line);
        Assert.True(p.Ok == valid, $"{innerArrays} inner arrays: expected valid={valid}, got ok={p.Ok} {p.Reason.Label()}");
        if (!valid)
        {
            Assert.True(p.Reason == InvalidReason.TooDeep, $"{innerArrays} inner arrays: expected too_deep, got {p.Reason.Label()}");
        }

        bool stj = StjAccepts(line);
        Assert.True(stj == valid, $"System.Text.Json should agree on the depth limit for {innerArrays} inner arrays");
    }

    [Fact]
    public void TryParse_DeeplyNestedNonObject_IsTooDeepNotACrash()
    {
        Parsed p = Parsed.Json(new string('[', 100_000));
        Assert.True(!p.Ok && p.Reason == InvalidReason.TooDeep, $"expected too_deep, got {p.Reason.Label()}");
    }

    [Fact]
    public void TryParse_TypeLongerThan65535Bytes_IsFieldTooLong()
    {
        Parsed atLimit = Parsed.Json("{\"type\":\"" + new string('x', 65535) + "\"}");
        Parsed over = Parsed.Json("{\"type\":\"" + new string('x', 65536) + "\"}");
        Parsed overKey = Parsed.Json("{\"key\":\"" + new string('x', 65536) + "\"}");

        Assert.True(atLimit.Ok && atLimit.Type!.Length == 65535, $"65535-byte type should be accepted, got {atLimit.Reason.Label()}");
        Assert.True(!over.Ok && over.Reason == InvalidReason.FieldTooLong, $"65536-byte type should be field_too_long, got {over.Reason.Label()}");
        Assert.True(!overKey.Ok && overKey.Reason == InvalidReason.FieldTooLong, $"65536-byte key should be field_too_long, got {overKey.Reason.Label()}");
    }

    [Fact]
    public void TryParse_OneMegabyteLine_IsDecodedWhole()
    {
        string filler = new string('z', 1 << 20);
        Parsed p = Parsed.Json("{\"blob\":\"" + filler + "\",\"type\":\"big\",\"value\":1}");
        Assert.True(p.Ok && p.Type == "big" && p.Value == 1, $"1 MiB line should decode (the size limit is the framer's job), got {p.Reason.Label()}");
    }

    [Theory]
    [InlineData("0", 0.0)]
    [InlineData("-0", -0.0)]
    [InlineData("1.7976931348623157e308", double.MaxValue)]
    [InlineData("5e-324", double.Epsilon)]
    [InlineData("1e-400", 0.0)]
    [InlineData("0.1", 0.1)]
    [InlineData("123456789012345678901234567890", 1.2345678901234568e29)]
    [InlineData("9007199254740993", 9007199254740992.0)]
    [InlineData("2.2250738585072011e-308", 2.2250738585072011e-308)]
    public void TryParse_Value_IsCorrectlyRounded(string number, double expected)
    {
        Parsed p = Parsed.Json("{\"value\":" + number + "}");
        Assert.True(p.Ok, $"{number} should be a valid value, got {p.Reason.Label()}");
        Assert.True(BitConverter.DoubleToInt64Bits(p.Value!.Value) == BitConverter.DoubleToInt64Bits(expected), $"{number}: expected {expected:R}, got {p.Value:R}");
    }

    [Fact]
    public void Labels_AreStableSnakeCaseAndPreallocated()
    {
        string[] expected =
        [
            "none", "not_json", "not_object", "trailing_data", "invalid_utf8", "too_deep",
            "bad_ts", "bad_type", "bad_key", "bad_value", "field_too_long", "oversized",
        ];
        Assert.True(expected.Length == InvalidReasons.Count, $"Count should be {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            var reason = (InvalidReason)i;
            Assert.True(reason.Label() == expected[i], $"label of {reason} changed: '{reason.Label()}' (labels are a contract)");
            Assert.True(ReferenceEquals(reason.Label(), InvalidReasons.Label(reason)), $"label of {reason} should be the same instance every call");
            Assert.True(InvalidReasons.TryParse(expected[i], out InvalidReason back) && back == reason, $"'{expected[i]}' should parse back to {reason}");
        }
    }

    private static bool StjAccepts(string line)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(line);
            return true;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }
}
