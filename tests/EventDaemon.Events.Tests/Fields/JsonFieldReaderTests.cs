using System.Text;
using EventDaemon.Events.Fields;
using Xunit;

namespace EventDaemon.Events.Tests.Fields;

public class JsonFieldReaderTests
{
    private static readonly byte[] Line =
        Encoding.UTF8.GetBytes("""{"type":"click","n":-12.5e1,"ok":true,"no":false,"z":null,"o":{"a":[1,{"b":"}"}]},"arr":[1,2,"]"],"e\u0073c":"a\"b\\c\u00e9","last":1,"last":2}""");

    [Theory]
    [InlineData("type", JsonScalarKind.String, "click")]
    [InlineData("n", JsonScalarKind.Number, "-12.5e1")]
    [InlineData("ok", JsonScalarKind.True, "true")]
    [InlineData("no", JsonScalarKind.False, "false")]
    [InlineData("z", JsonScalarKind.Null, "null")]
    [InlineData("o", JsonScalarKind.Object, """{"a":[1,{"b":"}"}]}""")]
    [InlineData("arr", JsonScalarKind.Array, """[1,2,"]"]""")]
    public void TryGetField_FindsTopLevelFieldAndReportsItsKindAndRawBytes(string name, JsonScalarKind kind, string raw)
    {
        bool found = JsonFieldReader.TryGetField(Line, Encoding.UTF8.GetBytes(name), out JsonScalar value);

        Assert.True(found, $"field '{name}' should be found");
        Assert.True(kind == value.Kind, $"field '{name}' kind: expected {kind}, got {value.Kind}");
        Assert.True(raw == Encoding.UTF8.GetString(value.RawIn(Line)), $"field '{name}' raw bytes: got '{Encoding.UTF8.GetString(value.RawIn(Line))}'");
    }

    [Fact]
    public void TryGetField_ParsesNumbers()
    {
        Assert.True(JsonFieldReader.TryGetField(Line, "n"u8, out JsonScalar value), "n should be found");
        Assert.True(value.GetDouble(Line) == -125.0, $"n should parse to -125, got {value.GetDouble(Line)}");
        Assert.False(value.TryGetInt64(Line, out _), "-12.5e1 is not an integer token");
    }

    [Fact]
    public void TryGetField_MatchesEscapedNamesAndReportsEscapedValues()
    {
        Assert.True(JsonFieldReader.TryGetField(Line, "esc"u8, out JsonScalar value), "escaped name 'e\\u0073c' should match 'esc'");
        Assert.True(value.Escaped, "value with backslashes should be flagged escaped");
        Assert.True(JsonString.EqualsUnescaped(value.RawIn(Line), value.Escaped, "a\"b\\cé"u8), "unescaped value should equal a\"b\\cé");
        Assert.True(JsonString.StartsWith(value.RawIn(Line), value.Escaped, "a\"b"u8), "unescaped value should start with a\"b");
        Assert.True(JsonString.Contains(value.RawIn(Line), value.Escaped, "\\cé"u8), "unescaped value should contain \\cé");
        Assert.False(JsonString.Contains(value.RawIn(Line), value.Escaped, "u00e9"u8), "escape text itself must not match");
    }

    [Fact]
    public void TryGetField_WhenNameRepeats_ReturnsLastOccurrence()
    {
        Assert.True(JsonFieldReader.TryGetField(Line, "last"u8, out JsonScalar value), "last should be found");
        Assert.True(value.TryGetInt64(Line, out long last) && last == 2, $"last occurrence should win, got {value.GetDouble(Line)}");
    }

    [Theory]
    [InlineData("a")]
    [InlineData("b")]
    [InlineData("")]
    [InlineData("typ")]
    public void TryGetField_DoesNotFindNestedOrMissingFields(string name)
    {
        Assert.False(JsonFieldReader.TryGetField(Line, Encoding.UTF8.GetBytes(name), out _), $"'{name}' is not a top-level field");
    }

    [Theory]
    [InlineData("")]
    [InlineData("[1]")]
    [InlineData("{\"a\":1")]
    [InlineData("{\"a\":\"x")]
    [InlineData("{\"a\" 1}")]
    [InlineData("{\"a\":tru}")]
    [InlineData("{\"a\":{\"b\":1}")]
    public void TryGetField_OnMalformedLine_ReturnsFalse(string line)
    {
        Assert.False(JsonFieldReader.TryGetField(Encoding.UTF8.GetBytes(line), "a"u8, out _), $"malformed line '{line}' must not yield a field");
    }

    [Fact]
    public void JsonString_LongEscapedStrings_CompareByStreaming()
    {
        string plain = new string('x', 2000) + "needle\"" + new string('y', 10);
        string raw = new string('x', 2000) + "ne\\u0065dle\\\"" + new string('y', 10);
        byte[] rawBytes = Encoding.UTF8.GetBytes(raw);
        Assert.True(JsonString.EqualsUnescaped(rawBytes, true, Encoding.UTF8.GetBytes(plain)), "long escaped string should equal its unescaped form");
        Assert.True(JsonString.StartsWith(rawBytes, true, "xxxx"u8), "long escaped string should start with xxxx");
        Assert.True(JsonString.Contains(rawBytes, true, "needle\"yy"u8), "long escaped string should contain needle\"yy");
        Assert.False(JsonString.Contains(rawBytes, true, "needlex"u8), "long escaped string should not contain needlex");
        Assert.False(JsonString.EqualsUnescaped(rawBytes, true, Encoding.UTF8.GetBytes(plain + "y")), "longer literal must not match");
    }
}
