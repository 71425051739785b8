using System.Text.RegularExpressions;
using EventDaemon.Daemon.Config;
using Xunit;

namespace EventDaemon.Daemon.Tests.Config;

/// <summary>
/// A spelling eventd suggests for a duration or a size is one it then accepts: suggesting
/// <c>"1sec"</c> for <c>"1 sec"</c> and refusing it next is worse than suggesting nothing.
/// </summary>
public sealed partial class SuggestionRoundTripTests
{
    [Theory]
    [InlineData("1 sec", "1s")]
    [InlineData("1sec", "1s")]
    [InlineData("5 secs", "5s")]
    [InlineData("500 ms", "500ms")]
    [InlineData("250 msec", "250ms")]
    [InlineData("2 min", "2m")]
    [InlineData("1.5 hours", "90m")]
    [InlineData("2d", "48h")]
    [InlineData("1 day", "24h")]
    [InlineData("1m 30s", "90s")]
    [InlineData("10 Seconds", "10s")]
    [InlineData("3 us", "3us")]
    public void Duration_Suggestion_IsTheCanonicalSpelling_AndParses(string written, string expected)
    {
        Assert.False(Duration.TryParse(written, out _, out string error), $"\"{written}\" should be refused as written");
        string? suggestion = Duration.Suggest(written);
        Assert.True(suggestion == expected, $"\"{written}\": suggested {suggestion ?? "nothing"}, expected \"{expected}\"");
        Assert.True(error.Contains($"\"{expected}\"", StringComparison.Ordinal), $"the error for \"{written}\" should offer \"{expected}\": {error}");
        Assert.True(Duration.TryParse(suggestion!, out _, out string again), $"suggestion \"{suggestion}\" is refused: {again}");
    }

    [Theory]
    [InlineData("1 sec")]
    [InlineData("1sec")]
    [InlineData("1 s")]
    [InlineData("10 minutes")]
    [InlineData("2d")]
    [InlineData("1 fortnight")]
    [InlineData("5 s e c")]
    [InlineData("1.5.5 sec")]
    [InlineData("0.5 nsec")]
    [InlineData("99999999999 hours")]
    [InlineData("abc")]
    public void Duration_EverySpellingAnErrorOffers_Parses(string written)
    {
        Assert.False(Duration.TryParse(written, out _, out string error), $"\"{written}\" should be refused as written");
        foreach (string offered in Offered(error))
        {
            Assert.True(Duration.TryParse(offered, out _, out string again), $"the error for \"{written}\" offers \"{offered}\", which is refused: {again}\n(error: {error})");
        }
    }

    [Theory]
    [InlineData("64M")]
    [InlineData("4k")]
    [InlineData("1.5G")]
    [InlineData("0.0001K")]
    [InlineData("0.5K")]
    [InlineData("10 megabytes")]
    [InlineData("3 bytes")]
    [InlineData("2 kibibytes")]
    [InlineData("1.5 gigs")]
    [InlineData("12 xb")]
    public void Size_EverySpellingAnErrorOffers_Parses(string written)
    {
        Assert.False(ByteSize.TryParse(written, out _, out string error), $"\"{written}\" should be refused as written");
        foreach (string offered in Offered(error))
        {
            Assert.True(ByteSize.TryParse(offered, out _, out string again), $"the error for \"{written}\" offers \"{offered}\", which is refused: {again}\n(error: {error})");
        }
    }

    [Theory]
    [InlineData("10 megabytes", "10MB")]
    [InlineData("2 kibibytes", "2KiB")]
    [InlineData("3 bytes", "3B")]
    public void Size_Suggestion_IsTheCanonicalSpelling(string written, string expected)
    {
        Assert.True(ByteSize.Suggest(written) == expected, $"\"{written}\": suggested {ByteSize.Suggest(written) ?? "nothing"}, expected \"{expected}\"");
    }

    [Fact]
    public void AmbiguousUnit_WhoseOneReadingIsNotWholeBytes_OffersOnlyTheOther()
    {
        Assert.False(ByteSize.TryParse("0.5K", out _, out string error), "\"0.5K\" should be refused as ambiguous");
        Assert.True(error.Contains("\"0.5KiB\"", StringComparison.Ordinal) && error.Contains("\"0.5KB\"", StringComparison.Ordinal),
            $"both readings of 0.5K are whole bytes (512 and 500): {error}");
        Assert.False(ByteSize.TryParse("0.0001K", out _, out error), "\"0.0001K\" should be refused");
        Assert.True(Offered(error).Count == 0, $"neither reading of 0.0001K is a whole number of bytes, yet the error offers some: {error}");
    }

    /// <summary>The spellings an error puts forward: quoted after "write", "or", "mean" or "e.g.".</summary>
    private static List<string> Offered(string error) => [.. OfferedSpelling().Matches(error).Select(m => m.Groups[1].Value)];

    [GeneratedRegex("(?:write|or|mean|e\\.g\\.|number:) \"([^\"]+)\"")]
    private static partial Regex OfferedSpelling();
}
