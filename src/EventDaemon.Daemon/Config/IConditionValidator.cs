namespace EventDaemon.Daemon.Config;

/// <summary>
/// Checks the text of a filter or route condition when the config is loaded, so that
/// <c>eventd validate</c> reports a bad expression with its place in the file. The config layer
/// knows nothing of the expression language; the daemon passes in one backed by the compiler.
/// </summary>
public interface IConditionValidator
{
    /// <summary><c>null</c> when <paramref name="condition"/> compiles; otherwise where and why it does not.</summary>
    ConditionError? Check(string condition);
}

/// <summary>A mistake inside a condition, positioned within the condition's own text.</summary>
/// <param name="Line">1-based; lines end at <c>\n</c>, <c>\r\n</c> or <c>\r</c>.</param>
/// <param name="Column">1-based, counted in Unicode scalar values (a tab counts as one).</param>
/// <param name="Message">A sentence without the position.</param>
public readonly record struct ConditionError(int Line, int Column, string Message);

/// <summary>An <see cref="IConditionValidator"/> from a function, for wiring a compiler in one line.</summary>
public sealed class DelegateConditionValidator(Func<string, ConditionError?> check) : IConditionValidator
{
    public ConditionError? Check(string condition) => check(condition);
}
