using System.Globalization;
using System.Text;
using CsCheck;
using EventDaemon.Events.Codecs;
using Xunit;

namespace EventDaemon.Events.Tests.Codecs;

public class Rfc3339Tests
{
    [Theory]
    [InlineData("1970-01-01T00:00:00Z", 0L)]
    [InlineData("1970-01-01t00:00:00z", 0L)]
    [InlineData("1970-01-01 00:00:00Z", 0L)]
    [InlineData("1970-01-01T00:00:00.000000001Z", 1L)]
    [InlineData("1970-01-01T00:00:00.1234567899Z", 123456789L)]
    [InlineData("1969-12-31T23:59:59.999999999Z", -1L)]
    [InlineData("1970-01-01T01:00:00+01:00", 0L)]
    [InlineData("1969-12-31T19:00:00-05:00", 0L)]
    [InlineData("2000-02-29T12:00:00Z", 951825600000000000L)]
    [InlineData("2016-12-31T23:59:60Z", 1483228800000000000L)]
    [InlineData("2262-04-11T23:47:16.854775807Z", long.MaxValue)]
    [InlineData("1677-09-21T00:12:43.145224192Z", long.MinValue)]
    public void TryParseUnixNanos_ValidTimestamps_GiveExactNanoseconds(string text, long expected)
    {
        bool ok = Rfc3339.TryParseUnixNanos(Encoding.ASCII.GetBytes(text), out long nanos);
        Assert.True(ok, $"'{text}' should parse");
        Assert.True(nanos == expected, $"'{text}': expected {expected}, got {nanos}");
    }

    [Theory]
    [InlineData("")]
    [InlineData("2025-11-26")]
    [InlineData("2025-11-26T10:00:00")]
    [InlineData("2025-11-26T10:00Z")]
    [InlineData("2025-11-26T10:00:00.Z")]
    [InlineData("2025-11-26T10:00:00ZZ")]
    [InlineData("2025-11-26T10:00:00+0100")]
    [InlineData("2025-11-26T10:00:00+01")]
    [InlineData("2025-11-26T10:00:00+24:00")]
    [InlineData("2025-11-26T10:00:00+01:60")]
    [InlineData("2025-13-01T00:00:00Z")]
    [InlineData("2025-00-01T00:00:00Z")]
    [InlineData("2025-04-31T00:00:00Z")]
    [InlineData("2023-02-29T00:00:00Z")]
    [InlineData("1900-02-29T00:00:00Z")]
    [InlineData("2025-11-26T24:00:00Z")]
    [InlineData("2025-11-26T10:60:00Z")]
    [InlineData("2025-11-26T10:00:61Z")]
    [InlineData("2025-11-26X10:00:00Z")]
    [InlineData("25-11-26T10:00:00Z")]
    [InlineData("+2025-11-26T10:00:00Z")]
    [InlineData("2262-04-11T23:47:16.854775808Z")]
    [InlineData("1677-09-21T00:12:43.145224191Z")]
    [InlineData("9999-12-31T23:59:59Z")]
    [InlineData("0000-01-01T00:00:00Z")]
    [InlineData(" 2025-11-26T10:00:00Z")]
    [InlineData("2025-11-26T10:00:00Z ")]
    public void TryParseUnixNanos_InvalidOrOutOfRange_IsRejected(string text)
    {
        Assert.False(Rfc3339.TryParseUnixNanos(Encoding.ASCII.GetBytes(text), out _), $"'{text}' must be rejected");
    }

    [Fact]
    public void TryParseUnixNanos_AgreesWithDateTimeOffsetOnRandomInstants()
    {
        // DateTimeOffset limits offsets to ±14 h; the parser's ±23:59 range is covered by the fixed cases.
        var gen = Gen.Select(
            Gen.Long[new DateTime(1678, 1, 1).Ticks, new DateTime(2262, 1, 1).Ticks],
            Gen.Int[-14 * 60, 14 * 60],
            Gen.Int[0, 9],
            Gen.Int[0, 999_999_999]);
        gen.Sample((ticks, offsetMinutes, fractionDigits, subSecond) =>
        {
            var utc = new DateTime(ticks - (ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
            var local = new DateTimeOffset(utc).ToOffset(TimeSpan.FromMinutes(offsetMinutes));
            string fraction = fractionDigits == 0 ? "" : "." + subSecond.ToString("D9", CultureInfo.InvariantCulture)[..fractionDigits];
            string zone = offsetMinutes == 0 && fractionDigits % 2 == 0 ? "Z" : local.ToString("zzz", CultureInfo.InvariantCulture);
            string text = local.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + fraction + zone;

            long fractionNanos = fractionDigits == 0 ? 0 : long.Parse(subSecond.ToString("D9", CultureInfo.InvariantCulture)[..fractionDigits].PadRight(9, '0'), CultureInfo.InvariantCulture);
            long expected = ((utc.Ticks - DateTime.UnixEpoch.Ticks) * 100) + fractionNanos;

            bool ok = Rfc3339.TryParseUnixNanos(Encoding.ASCII.GetBytes(text), out long nanos);
            Assert.True(ok, $"'{text}' should parse");
            Assert.True(nanos == expected, $"'{text}': expected {expected}, got {nanos}");
        }, iter: 20_000);
    }
}
