using EventDaemon.Stages.Expressions;
using Xunit;

namespace EventDaemon.Stages.Tests.Expressions;

public class ErrorTests
{
    [Theory]
    [InlineData("", ExpressionErrorCode.EmptyExpression, 1, 1)]
    [InlineData("  \n ", ExpressionErrorCode.EmptyExpression, 1, 1)]
    [InlineData("type = \"a\"", ExpressionErrorCode.UnexpectedCharacter, 1, 6)]
    [InlineData("type == \"a\" & key == \"b\"", ExpressionErrorCode.UnexpectedCharacter, 1, 13)]
    [InlineData("value > 3 | true", ExpressionErrorCode.UnexpectedCharacter, 1, 11)]
    [InlineData("value > - 3", ExpressionErrorCode.UnexpectedCharacter, 1, 9)]
    [InlineData("type == #", ExpressionErrorCode.UnexpectedCharacter, 1, 9)]
    [InlineData(". == 1", ExpressionErrorCode.UnexpectedCharacter, 1, 1)]
    [InlineData("value > 1 && .", ExpressionErrorCode.UnexpectedCharacter, 1, 14)]
    [InlineData("type == \"abc", ExpressionErrorCode.UnterminatedString, 1, 9)]
    [InlineData("type == \"ab\nc\"", ExpressionErrorCode.UnterminatedString, 1, 9)]
    [InlineData("type == 'abc\"", ExpressionErrorCode.UnterminatedString, 1, 9)]
    [InlineData("type == \"abc\\", ExpressionErrorCode.UnterminatedString, 1, 9)]
    [InlineData(".\"odd == 1", ExpressionErrorCode.UnterminatedString, 1, 2)]
    [InlineData("type == \"a\\qb\"", ExpressionErrorCode.InvalidEscape, 1, 11)]
    [InlineData("type == \"\\u12\"", ExpressionErrorCode.InvalidEscape, 1, 10)]
    [InlineData("type == \"\\ud800\"", ExpressionErrorCode.InvalidEscape, 1, 10)]
    [InlineData("type == \"\\udc00\"", ExpressionErrorCode.InvalidEscape, 1, 10)]
    [InlineData("value > 1.", ExpressionErrorCode.InvalidNumber, 1, 9)]
    [InlineData("value > 1e", ExpressionErrorCode.InvalidNumber, 1, 9)]
    [InlineData("value > 12ab", ExpressionErrorCode.InvalidNumber, 1, 9)]
    [InlineData("value > 1.5.3", ExpressionErrorCode.InvalidNumber, 1, 9)]
    [InlineData("value > 1e999", ExpressionErrorCode.InvalidNumber, 1, 9)]
    [InlineData("type == ", ExpressionErrorCode.UnexpectedEnd, 1, 9)]
    [InlineData("(type == \"a\"", ExpressionErrorCode.UnexpectedEnd, 1, 13)]
    [InlineData("type == \"a\" &&", ExpressionErrorCode.UnexpectedEnd, 1, 15)]
    [InlineData("type in [\"a\",", ExpressionErrorCode.UnexpectedEnd, 1, 14)]
    [InlineData("type == \"a\")", ExpressionErrorCode.UnexpectedToken, 1, 12)]
    [InlineData("type == \"a\" key == \"b\"", ExpressionErrorCode.UnexpectedToken, 1, 13)]
    [InlineData("type == ,", ExpressionErrorCode.UnexpectedToken, 1, 9)]
    [InlineData("type in \"a\"", ExpressionErrorCode.UnexpectedToken, 1, 9)]
    [InlineData("type in [.a]", ExpressionErrorCode.UnexpectedToken, 1, 10)]
    [InlineData("type in [\"a\" \"b\"]", ExpressionErrorCode.UnexpectedToken, 1, 14)]
    [InlineData("in [1]", ExpressionErrorCode.UnexpectedToken, 1, 1)]
    [InlineData("foo == 1", ExpressionErrorCode.UnknownName, 1, 1)]
    [InlineData("value > 1 && Type == \"a\"", ExpressionErrorCode.UnknownName, 1, 14)]
    [InlineData("size(.a) > 1", ExpressionErrorCode.UnknownFunction, 1, 1)]
    [InlineData("value > 0 || Exists(.a)", ExpressionErrorCode.UnknownFunction, 1, 14)]
    [InlineData("exists(.a, .b)", ExpressionErrorCode.WrongArgumentCount, 1, 1)]
    [InlineData("value > 0 && starts_with(type)", ExpressionErrorCode.WrongArgumentCount, 1, 14)]
    [InlineData("contains()", ExpressionErrorCode.WrongArgumentCount, 1, 1)]
    [InlineData("exists(3)", ExpressionErrorCode.ArgumentType, 1, 8)]
    [InlineData("exists(\"a\")", ExpressionErrorCode.ArgumentType, 1, 8)]
    [InlineData("exists(type == \"a\")", ExpressionErrorCode.ArgumentType, 1, 8)]
    [InlineData("contains(value, \"1\")", ExpressionErrorCode.ArgumentType, 1, 10)]
    [InlineData("starts_with(type, 1)", ExpressionErrorCode.ArgumentType, 1, 19)]
    [InlineData("starts_with(ts, \"1\")", ExpressionErrorCode.ArgumentType, 1, 13)]
    [InlineData("contains(key, exists(.a))", ExpressionErrorCode.ArgumentType, 1, 15)]
    [InlineData("type && key == \"b\"", ExpressionErrorCode.NotACondition, 1, 1)]
    [InlineData("key == \"b\" || .flag", ExpressionErrorCode.NotACondition, 1, 15)]
    [InlineData("!type == \"a\"", ExpressionErrorCode.NotACondition, 1, 2)]
    [InlineData(".flag", ExpressionErrorCode.NotACondition, 1, 1)]
    [InlineData("\"x\"", ExpressionErrorCode.NotACondition, 1, 1)]
    [InlineData("(value)", ExpressionErrorCode.NotACondition, 1, 2)]
    [InlineData("exists(.a) == true", ExpressionErrorCode.ConditionAsValue, 1, 1)]
    [InlineData("value == (key == \"a\")", ExpressionErrorCode.ConditionAsValue, 1, 11)]
    [InlineData("!exists(.a) in [true]", ExpressionErrorCode.ConditionAsValue, 1, 1)]
    [InlineData("1 < value < 5", ExpressionErrorCode.ChainedComparison, 1, 11)]
    [InlineData("type == \"a\" in [\"a\"]", ExpressionErrorCode.ChainedComparison, 1, 13)]
    public void Errors_NameTheirKindLineAndColumn(string text, ExpressionErrorCode code, int line, int column)
    {
        ExpressionError error = Compiled.Error(text);
        Assert.True(error.Code == code, $"'{text}' should fail with {code} but failed with {error.Code}: {error}");
        Assert.True(
            error.Line == line && error.Column == column,
            $"'{text}' should report {line}:{column} but reported {error.Line}:{error.Column} ({error.Message})");
        Assert.True(!string.IsNullOrWhiteSpace(error.Message), $"'{text}' failed without a message");
    }

    [Theory]
    [InlineData("type == \"a\"\n&& key = \"b\"", ExpressionErrorCode.UnexpectedCharacter, 2, 8)]
    [InlineData("type == \"a\" &&\r\n  foo == 1", ExpressionErrorCode.UnknownName, 2, 3)]
    [InlineData("type == \"a\" ||\n\n  value >", ExpressionErrorCode.UnexpectedEnd, 3, 10)]
    [InlineData("type == \"a\"\r\n\r\n&& foo", ExpressionErrorCode.UnknownName, 3, 4)]
    [InlineData("type == \"a\" &&\rfoo == 1", ExpressionErrorCode.UnknownName, 2, 1)]
    [InlineData("\tfoo", ExpressionErrorCode.UnknownName, 1, 2)]
    [InlineData("type == \"é\" && bogus", ExpressionErrorCode.UnknownName, 1, 16)]
    [InlineData("\"😀\" == bogus", ExpressionErrorCode.UnknownName, 1, 8)]
    [InlineData("type == \"a\" &&\n  key == \"b\" &&\n  contains(value, \"x\")", ExpressionErrorCode.ArgumentType, 3, 12)]
    public void Errors_InMultiLineText_CountLinesAndColumnsAsAnEditorDoes(string text, ExpressionErrorCode code, int line, int column)
    {
        ExpressionError error = Compiled.Error(text);
        Assert.True(error.Code == code, $"{Show(text)} should fail with {code} but failed with {error.Code}: {error}");
        Assert.True(
            error.Line == line && error.Column == column,
            $"{Show(text)} should report {line}:{column} but reported {error.Line}:{error.Column} ({error.Message})");
    }

    [Fact]
    public void Errors_NestedTooDeeply_AreReportedNotOverflowed()
    {
        string text = new string('(', 101) + "value > 1" + new string(')', 101);
        ExpressionError error = Compiled.Error(text);
        Assert.True(error.Code == ExpressionErrorCode.TooDeep, $"101 nested parentheses should fail with TooDeep, got {error.Code}: {error}");
        Assert.True(error.Line == 1 && error.Column == 101, $"TooDeep should point at the 101st '(', got {error.Line}:{error.Column}");

        string bangs = new string('!', 1000) + "true";
        ExpressionError bangError = Compiled.Error(bangs);
        Assert.True(bangError.Code == ExpressionErrorCode.TooDeep, $"1000 '!' should fail with TooDeep, got {bangError.Code}: {bangError}");
    }

    [Fact]
    public void Error_CarriesTheUtf16OffsetAndFormatsAsLineColonColumn()
    {
        ExpressionError error = Compiled.Error("type == \"a\"\n&& foo");
        Assert.True(error.Offset == 15, $"offset should be the UTF-16 index 15 of 'foo', was {error.Offset}");
        Assert.True(error.IsError, "a failed compile should return an error with IsError set");
        string text = error.ToString();
        Assert.True(text.StartsWith("2:4: unknown name 'foo'", StringComparison.Ordinal), $"error text should start with '2:4: unknown name 'foo'', was '{text}'");
    }

    [Fact]
    public void Success_ReturnsNoError()
    {
        bool ok = FilterProgram.TryCompile("type == \"a\"", out _, out ExpressionError error);
        Assert.True(ok && !error.IsError, $"a valid expression should compile with no error, got {error}");
    }

    [Theory]
    [InlineData("type = \"a\"", "'=='")]
    [InlineData("!type == \"a\"", "!(type == ...)")]
    [InlineData("foo == 1", "'.foo'")]
    [InlineData("exists(3)", "not the number 3")]
    [InlineData("contains(value, \"1\")", "value, which is always a number")]
    [InlineData("starts_with(type)", "starts_with takes 2 arguments, but was given 1")]
    [InlineData("1 < value < 5", "'&&'")]
    public void ErrorMessages_SayHowToFixTheMistake(string text, string hint)
    {
        ExpressionError error = Compiled.Error(text);
        Assert.True(error.Message.Contains(hint, StringComparison.Ordinal), $"the error for '{text}' should mention {hint}, was: {error.Message}");
    }

    private static string Show(string text) => "'" + text.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "'";
}
