using System.Text;
using System.Text.Json;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Tests.Support;
using Xunit;

namespace EventDaemon.Events.Tests.Codecs;

/// <summary>
/// Strings are settled 16 bytes at a time (the line's last 16 bytes for a string near its end), so
/// every special byte is tried at every offset inside and around one vector, in strings and lines
/// shorter and longer than a vector, as a value and as a member name, against System.Text.Json plus a UTF-8 check.
/// </summary>
public class JsonStringScanTests
{
    // The byte sequences placed inside a string, each legal or not by RFC 8259 / UTF-8.
    private static readonly byte[][] Specials =
    [
        "\\\""u8.ToArray(), // escaped quote
        "\\\\"u8.ToArray(), // escaped backslash
        "\\u0041"u8.ToArray(),
        "\\x"u8.ToArray(), // bad escape
        [0x01], // raw control character
        [0x1F],
        [0x7F], // DEL is legal
        "é"u8.ToArray(),
        "€"u8.ToArray(),
        "😀"u8.ToArray(),
        [0xFF], // never valid UTF-8
        [0xC3], // a lead byte cut short by the next ASCII byte
        [0xE2, 0x82], // a three-byte sequence missing its last byte
        [0xED, 0xA0, 0x80], // an encoded surrogate
    ];

    [Fact]
    public void TryParse_SpecialByteAtEveryOffsetOfAStringValue_AgreesWithSystemTextJson()
    {
        foreach (byte[] special in Specials)
        {
            for (int before = 0; before <= 20; before++)
            {
                for (int after = 0; after <= 20; after += 5)
                {
                    byte[] content = Content(before, special, after);
                    Check(Concat("{\"key\":\""u8, content, "\"}"u8), content);
                    Check(Concat("{\"key\":\""u8, content, "\",\"ts\":1}"u8), content);
                    Check(Concat("{\"type\":\"view\",\"key\":\""u8, content, "\",\"value\":2.5,\"region\":\"eu\"}"u8), content);
                }
            }
        }
    }

    [Fact]
    public void TryParse_SpecialByteAtEveryOffsetOfAMemberName_AgreesWithSystemTextJson()
    {
        foreach (byte[] special in Specials)
        {
            for (int before = 0; before <= 20; before++)
            {
                byte[] name = Content(before, special, 3);
                byte[] line = Concat("{\""u8, name, "\":1,\"key\":\"k\"}"u8);
                Parsed p = Parsed.Json(line);
                Assert.True(p.Ok == IsValidJson(line), $"{Show(line)}: decoder says {p.Reason}, System.Text.Json says valid = {IsValidJson(line)}");
                if (p.Ok)
                {
                    Assert.True(p.Key == "k", $"{Show(line)}: key after the name should read k, got '{p.Key}'");
                }
            }
        }
    }

    [Fact]
    public void TryParse_LinesShorterThanAVector_AreDecoded()
    {
        string[] lines = ["{}", "{\"a\":1}", "{\"key\":\"\"}", "{\"key\":\"x\"}", "{\"type\":\"ab\"}", "{\"key\":\"é\"}"];
        foreach (string line in lines)
        {
            Parsed p = Parsed.Json(line);
            Assert.True(p.Ok, $"{line} ({Encoding.UTF8.GetByteCount(line)} bytes) should be valid, got {p.Reason}");
        }

        Assert.True(Parsed.Json("{\"key\":\"x").Reason == InvalidReason.NotJson, "a short line whose string never closes is not JSON");
        Assert.True(Parsed.Json("{\"key\":\"x\u0001\"}").Reason == InvalidReason.NotJson, "a control character in a short line is not JSON");
        Assert.True(Parsed.Json("{\"key\":\"x\"}").Key == "x", "the key of a short line should read x");
        Assert.True(Parsed.Json(Concat("{\"key\":\""u8, [0xC3], "\"}"u8)).Reason == InvalidReason.InvalidUtf8, "a cut UTF-8 sequence in a short line is invalid_utf8");
    }

    [Fact]
    public void TryParse_StringEndingAtEveryOffsetNearTheLineEnd_ReadsWhole()
    {
        // The last string of a line is tested within the line's last 16 bytes: its content must
        // neither lose its start nor see bytes before it.
        for (int length = 0; length <= 40; length++)
        {
            string key = new string('k', length);
            string line = "{\"type\":\"\\\"q\",\"key\":\"" + key + "\"}";
            Parsed p = Parsed.Json(line);
            Assert.True(p.Ok, $"{line} should be valid, got {p.Reason}");
            Assert.True(p.Key == key, $"{line}: key should be {length} k's, got '{p.Key}'");
            Assert.True(p.Type == "\"q", $"{line}: type should unescape to \"q, got '{p.Type}'");
        }
    }

    private static void Check(byte[] line, byte[] content)
    {
        Parsed p = Parsed.Json(line);
        bool valid = IsValidJson(line);
        Assert.True(p.Ok == valid, $"{Show(line)}: decoder says {p.Reason}, System.Text.Json says valid = {valid}");
        if (!valid)
        {
            InvalidReason expected = Utf8Valid(line) ? InvalidReason.NotJson : InvalidReason.InvalidUtf8;
            Assert.True(p.Reason == expected, $"{Show(line)}: reason should be {expected}, got {p.Reason}");
            return;
        }

        string expectedKey = JsonDocument.Parse(line).RootElement.GetProperty("key").GetString()!;
        Assert.True(p.Key == expectedKey, $"{Show(line)}: key should read '{expectedKey}', got '{p.Key}'");
        bool escaped = (p.Slot.Flags & EventFlags.KeyEscaped) != 0;
        Assert.True(escaped == content.Contains((byte)'\\'), $"{Show(line)}: key escaped flag should be {!escaped}");
        Assert.True(p.Slot.KeyLength == content.Length, $"{Show(line)}: raw key length should be {content.Length}, got {p.Slot.KeyLength}");
    }

    private static byte[] Content(int before, byte[] special, int after) =>
        [.. Enumerable.Repeat((byte)'a', before), .. special, .. Enumerable.Repeat((byte)'b', after)];

    private static byte[] Concat(ReadOnlySpan<byte> head, byte[] middle, ReadOnlySpan<byte> tail) => [.. head, .. middle, .. tail];

    private static bool Utf8Valid(byte[] line) => System.Text.Unicode.Utf8.IsValid(line);

    // JsonDocument does not check UTF-8 inside strings: the decoder's contract (RFC 8259 §8.1) does.
    private static bool IsValidJson(byte[] line)
    {
        if (!Utf8Valid(line))
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(line);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Show(byte[] line) => Convert.ToHexString(line) + " '" + Encoding.UTF8.GetString(line) + "'";
}
