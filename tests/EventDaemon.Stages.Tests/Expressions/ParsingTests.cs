using Xunit;

namespace EventDaemon.Stages.Tests.Expressions;

public class ParsingTests
{
    [Theory]
    [InlineData("type == \"a\" || key == \"b\" && value > 1", "(type == \"a\" || (key == \"b\" && value > 1))")]
    [InlineData("type == \"a\" && key == \"b\" || value > 1", "((type == \"a\" && key == \"b\") || value > 1)")]
    [InlineData("(type == \"a\" || key == \"b\") && value > 1", "((type == \"a\" || key == \"b\") && value > 1)")]
    [InlineData("type == \"a\" && key == \"b\" && value > 1", "(type == \"a\" && key == \"b\" && value > 1)")]
    [InlineData("type == \"a\" || key == \"b\" || value > 1", "(type == \"a\" || key == \"b\" || value > 1)")]
    [InlineData("!exists(.a) && exists(.b)", "(!(exists(.a)) && exists(.b))")]
    [InlineData("!(type == \"a\") || !!exists(key)", "(!(type == \"a\") || !(!(exists(key))))")]
    [InlineData("value in [3, 1, \"x\"] && ts >= -5", "(value in [3, 1, \"x\"] && ts >= -5)")]
    [InlineData("type in [\"a\", \"b\",]", "type in [\"a\", \"b\"]")]
    [InlineData("key in []", "key in []")]
    [InlineData("true", "true")]
    [InlineData("(((value < 0.25)))", "value < 0.25")]
    public void Canonical_ShowsHowPrecedenceGroupedTheExpression(string text, string expected)
    {
        string canonical = Compiled.From(text).Canonical;
        Assert.True(canonical == expected, $"'{text}' should group as {expected} but grouped as {canonical}");
    }

    [Theory]
    [InlineData("type\n==\n\"a\"", "type == \"a\"")]
    [InlineData("\t type==\"a\"&&key!='b' ", "(type == \"a\" && key != \"b\")")]
    [InlineData("type == \"caf\\u00e9 \\\"q\\\" \\\\ \\/ \\t\"", "type == \"café \\\"q\\\" \\\\ / \\t\"")]
    [InlineData("type == \"\\ud83d\\ude00\"", "type == \"😀\"")]
    [InlineData("type == 'it\\'s'", "type == \"it's\"")]
    [InlineData(".\"odd name\" == 1 && .'x-y' == 2 && .plain_1 == 3", "(.\"odd name\" == 1 && .\"x-y\" == 2 && .plain_1 == 3)")]
    [InlineData("value == 1.5e3 || value == -2E-1 || value == -0", "(value == 1500 || value == -0.2 || value == 0)")]
    [InlineData("ts == 9223372036854775807", "ts == 9223372036854775807")]
    [InlineData("starts_with(\"abc\", key) && contains(.f, 'x')", "(starts_with(\"abc\", key) && contains(.f, \"x\"))")]
    [InlineData("exists(type) && exists(key) && exists(value) && exists(ts) && exists(.v)", "(exists(type) && exists(key) && exists(value) && exists(ts) && exists(.v))")]
    [InlineData(".ok == true && .no == false && .n == null", "(.ok == true && .no == false && .n == null)")]
    public void Syntax_AcceptsEveryDocumentedForm(string text, string expected)
    {
        string canonical = Compiled.From(text).Canonical;
        Assert.True(canonical == expected, $"'{text}' should parse as {expected} but parsed as {canonical}");
    }

    [Theory]
    [InlineData("true", 0)]
    [InlineData("!false", 0)]
    [InlineData("true || type == \"a\"", 0)]
    [InlineData("type == \"a\" && !(key == \"b\" || value > 1)", 3)]
    [InlineData(".a == 1 && .a == 2", 2)]
    public void Compile_EmitsOneTestPerComparisonAndNoneForConstantsOrLogic(string text, int expected)
    {
        int count = Compiled.From(text).InstructionCount;
        Assert.True(count == expected, $"'{text}' should compile to {expected} tests but compiled to {count}");
    }

    [Fact]
    public void Source_IsTheTextAsGiven()
    {
        const string text = "  type == \"a\"\n";
        var program = Compiled.From(text);
        Assert.True(program.Source == text, $"Source should be the original text, was '{program.Source}'");
        Assert.True(program.ToString() == text, $"ToString should be the original text, was '{program}'");
    }

    [Fact]
    public void Parser_AcceptsNestingUpToTheLimit()
    {
        string text = new string('(', 100) + "value > 1" + new string(')', 100);
        var program = Compiled.From(text);
        Assert.True(program.Canonical == "value > 1", $"100 levels of parentheses should reduce to the comparison, got {program.Canonical}");
    }

    [Fact]
    public void LongChains_CompileWithoutDeepRecursion()
    {
        string text = string.Join(" || ", Enumerable.Range(0, 5000).Select(i => $"value == {i}"));
        var program = Compiled.From(text);
        Assert.True(program.InstructionCount == 5000, $"a 5000-term chain should compile to 5000 tests, got {program.InstructionCount}");
    }
}
