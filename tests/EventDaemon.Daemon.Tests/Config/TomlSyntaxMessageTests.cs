using EventDaemon.Daemon.Config;
using Xunit;

namespace EventDaemon.Daemon.Tests.Config;

/// <summary>A TOML syntax error reads as one line in eventd's words, never the parser's token names.</summary>
public sealed class TomlSyntaxMessageTests
{
    [Theory]
    [InlineData("[daemon\nring_size = 1024\n", "test.toml:1:8: missing ']' at the end of the table header")]
    [InlineData("[daemon]\nring_size = 1024 1\n", "test.toml:2:18: expected the end of the line after the value, found '1' (one key = value per line)")]
    [InlineData("[sources.in]\ntype = \"tcp\n", "test.toml:2:12: string not closed: missing '\"' before the end of the line")]
    [InlineData("[transforms.a]\ninputs = [\"x\",\n", "test.toml:1:1: array not closed: missing ']' before the end of the file")]
    [InlineData("[daemon]\nx = {a = 1\n", "test.toml:3:1: inline table not closed: missing '}' before the end of the file")]
    [InlineData("= 1\n", "test.toml:1:1: '=' with no key before it")]
    [InlineData("[a]]\n", "test.toml:1:3: expected ']' to close the table header, found ']]'")]
    [InlineData("[daemon]\nring_size\n", "test.toml:2:10: expected '=' and a value after the key, found end of line")]
    public void SyntaxError_IsOneLineSayingWhatIsWrong(string toml, string expected)
    {
        string[] errors = [.. ConfigTesting.Parse(toml).Errors.Select(ErrorFormatter.Format)];
        Assert.True(errors.Length >= 1, $"no error reported for:\n{toml}");
        Assert.True(errors.Count(e => e == expected) == 1, $"expected the line\n  {expected}\ngot\n  {string.Join("\n  ", errors)}");
    }

    [Theory]
    [InlineData("[daemon\nring_size = 1024\n")]
    [InlineData("[sources.in]\ntype = \"tcp\n")]
    [InlineData("[transforms.a]\ninputs = [\"x\",\n")]
    [InlineData("[daemon]\nx = {a = 1\n")]
    [InlineData("[a]]\n")]
    [InlineData("= 1\n")]
    public void SyntaxError_NamesNoParserToken_AndReportsOnlyTheFirst(string toml)
    {
        ConfigResult result = ConfigTesting.Parse(toml);
        string text = ErrorFormatter.Format(result.Errors);
        foreach (string jargon in new[] { "token", "closebracket", "basickey", "newline", "Eof", "<eof>", "`" })
        {
            Assert.False(text.Contains(jargon, StringComparison.Ordinal), $"'{jargon}' leaks the parser's vocabulary:\n{text}");
        }

        // The first syntax error; what the parser reports after it is its own recovery, not the operator's mistake.
        int syntax = result.Errors.Count(e => !e.Message.Contains("configured", StringComparison.Ordinal) && !e.Message.StartsWith("unknown ", StringComparison.Ordinal));
        Assert.True(syntax == 1, $"one syntax error expected, got:\n{text}");
    }
}
