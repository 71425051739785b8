namespace EventDaemon.Stages.Expressions;

/// <summary>
/// Why an expression did not compile, and where. Positions are relative to the expression text
/// itself; a caller that read the text from a file adds the position of the text within it.
/// </summary>
/// <param name="Code">The kind of mistake.</param>
/// <param name="Message">A sentence for a person, without the position.</param>
/// <param name="Line">1-based line within the expression text (lines end at <c>\n</c>, <c>\r\n</c> or <c>\r</c>).</param>
/// <param name="Column">
/// 1-based column within that line, counted in Unicode scalar values (a tab counts as one), so it
/// matches what an editor shows for the same text.
/// </param>
/// <param name="Offset">0-based UTF-16 index into the expression string, for callers that map positions themselves.</param>
public readonly record struct ExpressionError(ExpressionErrorCode Code, string Message, int Line, int Column, int Offset)
{
    public bool IsError => Code != ExpressionErrorCode.None;

    public override string ToString() => $"{Line}:{Column}: {Message}";
}
