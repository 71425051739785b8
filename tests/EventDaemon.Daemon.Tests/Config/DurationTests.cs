using EventDaemon.Daemon.Config;
using Xunit;

namespace EventDaemon.Daemon.Tests.Config;

public sealed class DurationTests
{
    [Theory]
    [InlineData("500ms", 500_000_000L)]
    [InlineData("1s", 1_000_000_000L)]
    [InlineData("2m", 120_000_000_000L)]
    [InlineData("1h", 3_600_000_000_000L)]
    [InlineData("10ns", 10L)]
    [InlineData("250us", 250_000L)]
    [InlineData("250µs", 250_000L)]
    [InlineData("1.5s", 1_500_000_000L)]
    [InlineData("1m30s", 90_000_000_000L)]
    [InlineData("1_000ms", 1_000_000_000L)]
    [InlineData("0s", 0L)]
    public void TryParse_AcceptsNumbersWithUnits(string text, long nanoseconds)
    {
        bool parsed = Duration.TryParse(text, out Duration value, out string error);
        Assert.True(parsed, $"\"{text}\" was rejected: {error}");
        ConfigTesting.Equal(nanoseconds, value.Nanoseconds, $"nanoseconds of \"{text}\"");
    }

    [Theory]
    [InlineData("", "empty duration (write e.g. \"500ms\" or \"1s\")")]
    [InlineData("5", "\"5\" has no unit (write e.g. \"5s\" or \"5ms\"; units: ns, us, ms, s, m, h)")]
    [InlineData("5sec", "unknown unit 'sec' in \"5sec\" (units: ns, us, ms, s, m, h; did you mean \"5s\"?)")]
    [InlineData("1d", "unknown unit 'd' in \"1d\" (units: ns, us, ms, s, m, h; did you mean \"24h\"?)")]
    [InlineData("-1s", "\"-1s\" is negative; durations cannot be")]
    [InlineData("1 s", "\"1 s\" contains a space; write the unit right after the number: \"1s\"")]
    [InlineData("s", "\"s\" is not a duration (write e.g. \"500ms\" or \"1s\")")]
    [InlineData("1.5.5s", "\"1.5.5s\" is not a duration: '1.5.5' is not a number")]
    [InlineData("1m30", "\"1m30\" ends without a unit after '30' (units: ns, us, ms, s, m, h)")]
    [InlineData("0.5ns", "\"0.5ns\" is finer than a nanosecond")]
    [InlineData("3000000h", "\"3000000h\" is too long (the limit is about 292 years)")]
    public void TryParse_RejectsWithAReason(string text, string expected)
    {
        bool parsed = Duration.TryParse(text, out _, out string error);
        Assert.False(parsed, $"\"{text}\" was accepted");
        ConfigTesting.Equal(expected, error, $"error for \"{text}\"");
    }

    [Theory]
    [InlineData(0L, "0s")]
    [InlineData(1_500_000_000L, "1500ms")]
    [InlineData(90_000_000_000L, "90s")]
    [InlineData(3_600_000_000_000L, "1h")]
    [InlineData(120_000_000_000L, "2m")]
    [InlineData(1_000L, "1us")]
    [InlineData(1_001L, "1001ns")]
    public void ToString_UsesTheLargestExactUnitAndParsesBack(long nanoseconds, string expected)
    {
        string text = new Duration(nanoseconds).ToString();
        ConfigTesting.Equal(expected, text, "formatted duration");
        ConfigTesting.Equal(nanoseconds, Duration.Parse(text).Nanoseconds, $"\"{text}\" parsed back");
    }

    [Fact]
    public void Parse_ThrowsFormatExceptionWithTheReason()
    {
        var thrown = Assert.Throws<FormatException>(() => Duration.Parse("5"));
        Assert.True(thrown.Message.Contains("has no unit", StringComparison.Ordinal), $"unexpected message: {thrown.Message}");
    }

    [Fact]
    public void ToTimeSpan_TruncatesToTicks()
    {
        ConfigTesting.Equal(TimeSpan.FromMilliseconds(1500), Duration.Parse("1500ms").ToTimeSpan(), "1500ms as a TimeSpan");
        ConfigTesting.Equal(TimeSpan.Zero, Duration.Parse("99ns").ToTimeSpan(), "99ns as a TimeSpan (under one tick)");
    }
}
