using EventDaemon.Stages.Expressions;
using Xunit;

namespace EventDaemon.Stages.Tests.Expressions;

internal static class Compiled
{
    public static FilterProgram From(string text)
    {
        bool ok = FilterProgram.TryCompile(text, out FilterProgram? program, out ExpressionError error);
        Assert.True(ok, $"'{text}' should compile but failed with {error.Code} at {error}");
        Assert.True(program is not null, $"TryCompile returned true for '{text}' without a program");
        return program!;
    }

    public static ExpressionError Error(string text)
    {
        bool ok = FilterProgram.TryCompile(text, out FilterProgram? program, out ExpressionError error);
        Assert.False(ok, $"'{text}' should not compile but compiled to {program?.Canonical}");
        Assert.True(program is null, $"TryCompile returned false for '{text}' but also a program");
        return error;
    }
}
