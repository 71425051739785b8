namespace EventDaemon.Stages.Expressions.Internal;

/// <summary>
/// Carries the first error out of the recursive-descent parser. Compile time only (config load),
/// never thrown while evaluating; <see cref="FilterProgram.TryCompile"/> turns it into an
/// <see cref="ExpressionError"/>.
/// </summary>
internal sealed class CompileException(ExpressionErrorCode code, string message, int offset) : Exception(message)
{
    public ExpressionErrorCode Code { get; } = code;

    public int Offset { get; } = offset;
}
