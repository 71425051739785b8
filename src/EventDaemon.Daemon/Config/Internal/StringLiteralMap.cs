using Tomlyn.Syntax;

namespace EventDaemon.Daemon.Config.Internal;

/// <summary>
/// Finds where a character of a decoded TOML string sits in the file, so an error inside a
/// condition is reported at the right line and column of the config. Walks the literal's raw text
/// the way TOML decodes it: escapes (<c>\"</c>, <c>\u00e9</c>) are one character written as
/// several, a multi-line string drops the newline right after its opening quotes, and a line-ending
/// backslash swallows the whitespace after it.
/// </summary>
internal static class StringLiteralMap
{
    /// <param name="line">1-based line within the decoded text (lines end at <c>\n</c>, <c>\r\n</c> or <c>\r</c>).</param>
    /// <param name="column">1-based column within that line, in Unicode scalar values.</param>
    /// <returns>
    /// The position of that character in the file; a position past the end of the text maps to the
    /// closing quote. If the raw text does not decode to Tomlyn's value (it always should), the
    /// literal's opening quote.
    /// </returns>
    public static ConfigPosition Locate(StringValueSyntax literal, string file, int line, int column)
    {
        TextPosition start = literal.Token?.Span.Start ?? literal.Span.Start;
        var fallback = new ConfigPosition(file, start.Line + 1, start.Column + 1);
        if (literal.Token is not { Text: { } raw } token || literal.Value is not { } value)
        {
            return fallback;
        }

        List<(int Line, int Column)>? positions = Decode(raw, token.TokenKind, start, value);
        if (positions is null)
        {
            return fallback;
        }

        int offset = OffsetOf(value, line, column);
        (int l, int c) = positions[Math.Clamp(offset, 0, positions.Count - 1)];
        return new ConfigPosition(file, l + 1, c + 1);
    }

    /// <summary>The UTF-16 index of (line, column) in <paramref name="text"/>, or its length when past the end.</summary>
    private static int OffsetOf(string text, int line, int column)
    {
        int currentLine = 1;
        int currentColumn = 1;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            bool secondHalf = char.IsLowSurrogate(c) && i > 0 && char.IsHighSurrogate(text[i - 1]);
            if (!secondHalf && currentLine == line && currentColumn == column)
            {
                return i;
            }

            if (c == '\n' || (c == '\r' && (i + 1 >= text.Length || text[i + 1] != '\n')))
            {
                if (currentLine == line)
                {
                    return i; // a column past the end of its line: point at the line's end
                }

                currentLine++;
                currentColumn = 1;
            }
            else if (c != '\r' && !secondHalf)
            {
                currentColumn++;
            }
        }

        return text.Length;
    }

    /// <summary>
    /// The 0-based file position of each UTF-16 unit of the decoded value, plus one entry for the
    /// closing delimiter; <c>null</c> if decoding does not reproduce <paramref name="expected"/>.
    /// </summary>
    private static List<(int Line, int Column)>? Decode(string raw, TokenKind kind, TextPosition start, string expected)
    {
        (int open, bool escapes, bool multiline) = kind switch
        {
            TokenKind.String => (1, true, false),
            TokenKind.StringLiteral => (1, false, false),
            TokenKind.StringMulti => (3, true, true),
            TokenKind.StringLiteralMulti => (3, false, true),
            _ => (-1, false, false),
        };
        int end = raw.Length - open;
        if (open < 0 || end < open)
        {
            return null;
        }

        var cursor = new Cursor(raw, start.Line, start.Column);
        cursor.AdvanceTo(open);
        if (multiline && cursor.Index < end && raw[cursor.Index] == '\n')
        {
            cursor.AdvanceTo(cursor.Index + 1);
        }
        else if (multiline && cursor.Index + 1 < end && raw[cursor.Index] == '\r' && raw[cursor.Index + 1] == '\n')
        {
            cursor.AdvanceTo(cursor.Index + 2);
        }

        var decoded = new System.Text.StringBuilder(expected.Length);
        var positions = new List<(int Line, int Column)>(expected.Length + 1);
        while (cursor.Index < end)
        {
            int i = cursor.Index;
            if (!escapes || raw[i] != '\\' || i + 1 >= end)
            {
                decoded.Append(raw[i]);
                positions.Add(cursor.Position);
                cursor.AdvanceTo(i + 1);
                continue;
            }

            if (multiline && IsLineEndingBackslash(raw, i + 1, end))
            {
                int next = i + 1;
                while (next < end && raw[next] is ' ' or '\t' or '\r' or '\n')
                {
                    next++;
                }

                cursor.AdvanceTo(next);
                continue;
            }

            (int Line, int Column) escapeAt = cursor.Position;
            (string? text, int length) = Unescape(raw, i + 1, end);
            if (text is null)
            {
                return null;
            }

            foreach (char c in text)
            {
                decoded.Append(c);
                positions.Add(escapeAt);
            }

            cursor.AdvanceTo(i + 1 + length);
        }

        positions.Add(cursor.Position);
        return decoded.ToString() == expected ? positions : null;
    }

    private static bool IsLineEndingBackslash(string raw, int from, int end)
    {
        int i = from;
        while (i < end && raw[i] is ' ' or '\t')
        {
            i++;
        }

        return i < end && raw[i] is '\n' or '\r';
    }

    /// <summary>The text an escape stands for and how many raw characters follow the backslash.</summary>
    private static (string? Text, int Length) Unescape(string raw, int at, int end)
    {
        char c = raw[at];
        switch (c)
        {
            case 'b': return ("\b", 1);
            case 't': return ("\t", 1);
            case 'n': return ("\n", 1);
            case 'f': return ("\f", 1);
            case 'r': return ("\r", 1);
            case 'e': return ("\u001b", 1);
            case '"': return ("\"", 1);
            case '\\': return ("\\", 1);
        }

        int digits = c switch { 'x' => 2, 'u' => 4, 'U' => 8, _ => 0 };
        if (digits == 0 || at + 1 + digits > end
            || !int.TryParse(raw.AsSpan(at + 1, digits), System.Globalization.NumberStyles.AllowHexSpecifier, null, out int codePoint)
            || !System.Text.Rune.IsValid(codePoint))
        {
            return (null, 0);
        }

        return (char.ConvertFromUtf32(codePoint), 1 + digits);
    }

    /// <summary>Walks raw text keeping Tomlyn's line and column (columns count Unicode scalar values).</summary>
    private struct Cursor(string raw, int line, int column)
    {
        public int Index { get; private set; }

        public readonly (int Line, int Column) Position => (line, column);

        public void AdvanceTo(int target)
        {
            for (; Index < target; Index++)
            {
                char c = raw[Index];
                if (c == '\n' || (c == '\r' && (Index + 1 >= raw.Length || raw[Index + 1] != '\n')))
                {
                    line++;
                    column = 0;
                }
                else if (c != '\r' && !(char.IsLowSurrogate(c) && Index > 0 && char.IsHighSurrogate(raw[Index - 1])))
                {
                    column++;
                }
            }
        }
    }
}
