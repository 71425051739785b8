namespace EventDaemon.Stages.Expressions.Internal;

/// <summary>Turns a UTF-16 offset into a 1-based line and column. Only runs when reporting an error.</summary>
internal static class TextPosition
{
    public static (int Line, int Column) Of(string text, int offset)
    {
        int line = 1;
        int column = 1;
        int end = Math.Min(offset, text.Length);
        for (int i = 0; i < end; i++)
        {
            char c = text[i];
            if (c == '\n' || (c == '\r' && (i + 1 >= text.Length || text[i + 1] != '\n')))
            {
                line++;
                column = 1;
            }
            else if (c == '\r' || (char.IsLowSurrogate(c) && i > 0 && char.IsHighSurrogate(text[i - 1])))
            {
                // The '\r' of "\r\n" (the '\n' ends the line) and the second half of a surrogate pair take no column.
            }
            else
            {
                column++;
            }
        }

        return (line, column);
    }
}
