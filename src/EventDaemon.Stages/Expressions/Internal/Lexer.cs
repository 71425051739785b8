using System.Globalization;
using System.Text;

namespace EventDaemon.Stages.Expressions.Internal;

/// <summary>Splits expression text into tokens; reports the first lexical error with its offset.</summary>
internal static class Lexer
{
    public static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        int i = 0;
        while (true)
        {
            i = SkipWhitespace(text, i);
            if (i >= text.Length)
            {
                tokens.Add(new Token(TokenKind.End, text.Length, text.Length));
                return tokens;
            }

            char c = text[i];
            int start = i;
            switch (c)
            {
                case '(': tokens.Add(new Token(TokenKind.LeftParen, start, ++i)); break;
                case ')': tokens.Add(new Token(TokenKind.RightParen, start, ++i)); break;
                case '[': tokens.Add(new Token(TokenKind.LeftBracket, start, ++i)); break;
                case ']': tokens.Add(new Token(TokenKind.RightBracket, start, ++i)); break;
                case ',': tokens.Add(new Token(TokenKind.Comma, start, ++i)); break;
                case '=':
                    if (Next(text, i) != '=')
                    {
                        throw new CompileException(ExpressionErrorCode.UnexpectedCharacter, "unexpected '='; equality is written '=='", start);
                    }

                    i += 2;
                    tokens.Add(new Token(TokenKind.Equal, start, i));
                    break;
                case '!':
                    if (Next(text, i) == '=')
                    {
                        i += 2;
                        tokens.Add(new Token(TokenKind.NotEqual, start, i));
                    }
                    else
                    {
                        tokens.Add(new Token(TokenKind.Not, start, ++i));
                    }

                    break;
                case '<':
                case '>':
                    bool orEqual = Next(text, i) == '=';
                    i += orEqual ? 2 : 1;
                    TokenKind kind = c == '<'
                        ? (orEqual ? TokenKind.LessOrEqual : TokenKind.Less)
                        : (orEqual ? TokenKind.GreaterOrEqual : TokenKind.Greater);
                    tokens.Add(new Token(kind, start, i));
                    break;
                case '&':
                case '|':
                    if (Next(text, i) != c)
                    {
                        throw new CompileException(ExpressionErrorCode.UnexpectedCharacter, $"unexpected '{c}'; did you mean '{c}{c}'?", start);
                    }

                    i += 2;
                    tokens.Add(new Token(c == '&' ? TokenKind.And : TokenKind.Or, start, i));
                    break;
                case '"':
                case '\'':
                    string value = ReadString(text, ref i);
                    tokens.Add(new Token(TokenKind.String, start, i, value));
                    break;
                case '.':
                    tokens.Add(ReadField(text, ref i));
                    break;
                default:
                    if (c == '-' || IsDigit(c))
                    {
                        tokens.Add(ReadNumber(text, ref i));
                    }
                    else if (IsIdentifierStart(c))
                    {
                        i = ScanIdentifier(text, i);
                        tokens.Add(new Token(TokenKind.Identifier, start, i, text[start..i]));
                    }
                    else
                    {
                        throw new CompileException(ExpressionErrorCode.UnexpectedCharacter, $"unexpected character {Describe(text, start)}", start);
                    }

                    break;
            }
        }
    }

    private static Token ReadField(string text, ref int i)
    {
        int start = i;
        i++;
        if (i < text.Length && (text[i] == '"' || text[i] == '\''))
        {
            string quoted = ReadString(text, ref i);
            if (quoted.Length == 0)
            {
                throw new CompileException(ExpressionErrorCode.UnexpectedToken, "a field name cannot be empty", start);
            }

            return new Token(TokenKind.Field, start, i, quoted);
        }

        if (i >= text.Length || !IsIdentifierStart(text[i]))
        {
            string what = i >= text.Length ? "the end of the expression" : Describe(text, i);
            throw new CompileException(
                ExpressionErrorCode.UnexpectedCharacter,
                $"expected a field name after '.', found {what}; names that are not letters, digits and '_' are quoted: .\"odd name\"",
                start);
        }

        int nameStart = i;
        i = ScanIdentifier(text, i);
        return new Token(TokenKind.Field, start, i, text[nameStart..i]);
    }

    /// <summary>Reads a quoted string starting at the quote at <paramref name="i"/>; leaves <paramref name="i"/> past the closing quote.</summary>
    private static string ReadString(string text, ref int i)
    {
        int start = i;
        char quote = text[i++];
        var sb = new StringBuilder();
        while (true)
        {
            if (i >= text.Length || text[i] == '\n' || text[i] == '\r')
            {
                throw new CompileException(ExpressionErrorCode.UnterminatedString, $"unterminated string: no closing {quote} on this line", start);
            }

            char c = text[i];
            if (c == quote)
            {
                i++;
                return sb.ToString();
            }

            if (c != '\\')
            {
                sb.Append(c);
                i++;
                continue;
            }

            int escapeStart = i;
            if (i + 1 >= text.Length)
            {
                throw new CompileException(ExpressionErrorCode.UnterminatedString, $"unterminated string: no closing {quote} on this line", start);
            }

            char e = text[i + 1];
            switch (e)
            {
                case '"': sb.Append('"'); break;
                case '\'': sb.Append('\''); break;
                case '\\': sb.Append('\\'); break;
                case '/': sb.Append('/'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'u':
                    i = ReadUnicodeEscape(text, escapeStart, sb);
                    continue;
                default:
                    throw new CompileException(ExpressionErrorCode.InvalidEscape, $"invalid escape '\\{e}'; strings use JSON escapes (\\\" \\' \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)", escapeStart);
            }

            i += 2;
        }
    }

    /// <summary>Reads <c>\uXXXX</c> (and the low half of a surrogate pair); returns the index past it.</summary>
    private static int ReadUnicodeEscape(string text, int at, StringBuilder sb)
    {
        if (!TryHex4(text, at + 2, out char unit))
        {
            throw new CompileException(ExpressionErrorCode.InvalidEscape, "invalid escape: '\\u' must be followed by four hex digits", at);
        }

        if (char.IsLowSurrogate(unit))
        {
            throw new CompileException(ExpressionErrorCode.InvalidEscape, $"invalid escape: '\\u{(int)unit:X4}' is the second half of a surrogate pair with no first half", at);
        }

        if (!char.IsHighSurrogate(unit))
        {
            sb.Append(unit);
            return at + 6;
        }

        if (Next(text, at + 5) != '\\' || Next(text, at + 6) != 'u' || !TryHex4(text, at + 8, out char low) || !char.IsLowSurrogate(low))
        {
            throw new CompileException(ExpressionErrorCode.InvalidEscape, $"invalid escape: '\\u{(int)unit:X4}' starts a surrogate pair that is not completed by a '\\uDC00'-'\\uDFFF' escape", at);
        }

        sb.Append(unit).Append(low);
        return at + 12;
    }

    private static Token ReadNumber(string text, ref int i)
    {
        int start = i;
        if (text[i] == '-')
        {
            i++;
            if (i >= text.Length || !IsDigit(text[i]))
            {
                throw new CompileException(ExpressionErrorCode.UnexpectedCharacter, "unexpected '-': only number literals may be negative, written -3 or -0.5", start);
            }
        }

        bool integral = true;
        i = ScanDigits(text, i);
        if (i < text.Length && text[i] == '.')
        {
            integral = false;
            i++;
            if (i >= text.Length || !IsDigit(text[i]))
            {
                throw InvalidNumber(text, start, i);
            }

            i = ScanDigits(text, i);
        }

        if (i < text.Length && (text[i] == 'e' || text[i] == 'E'))
        {
            integral = false;
            i++;
            if (i < text.Length && (text[i] == '+' || text[i] == '-'))
            {
                i++;
            }

            if (i >= text.Length || !IsDigit(text[i]))
            {
                throw InvalidNumber(text, start, i);
            }

            i = ScanDigits(text, i);
        }

        if (i < text.Length && (IsIdentifierPart(text[i]) || text[i] == '.'))
        {
            throw InvalidNumber(text, start, ScanIdentifier(text, i));
        }

        ReadOnlySpan<char> span = text.AsSpan(start, i - start);
        double number = double.Parse(span, NumberStyles.Float, CultureInfo.InvariantCulture);
        if (!double.IsFinite(number))
        {
            throw new CompileException(ExpressionErrorCode.InvalidNumber, $"number '{span}' is too large", start);
        }

        long integer = 0;
        bool isInteger = integral && long.TryParse(span, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out integer);
        return new Token(TokenKind.Number, start, i, text[start..i], number, integer, isInteger);
    }

    private static CompileException InvalidNumber(string text, int start, int end)
    {
        end = Math.Min(end, text.Length);
        return new CompileException(ExpressionErrorCode.InvalidNumber, $"invalid number '{text[start..end]}'", start);
    }

    private static bool TryHex4(string text, int at, out char unit)
    {
        unit = '\0';
        if (at + 4 > text.Length)
        {
            return false;
        }

        if (!ushort.TryParse(text.AsSpan(at, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ushort value))
        {
            return false;
        }

        unit = (char)value;
        return true;
    }

    private static int SkipWhitespace(string text, int i)
    {
        while (i < text.Length && text[i] is ' ' or '\t' or '\n' or '\r')
        {
            i++;
        }

        return i;
    }

    private static int ScanDigits(string text, int i)
    {
        while (i < text.Length && IsDigit(text[i]))
        {
            i++;
        }

        return i;
    }

    private static int ScanIdentifier(string text, int i)
    {
        while (i < text.Length && IsIdentifierPart(text[i]))
        {
            i++;
        }

        return i;
    }

    private static char Next(string text, int i) => i + 1 < text.Length ? text[i + 1] : '\0';

    private static bool IsDigit(char c) => c is >= '0' and <= '9';

    private static bool IsIdentifierStart(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_';

    private static bool IsIdentifierPart(char c) => IsIdentifierStart(c) || IsDigit(c);

    /// <summary>Shows one character (a whole surrogate pair) quoted, or by code point when invisible.</summary>
    internal static string Describe(string text, int i)
    {
        if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
        {
            return $"'{text.Substring(i, 2)}'";
        }

        char c = text[i];
        return char.IsControl(c) || char.IsWhiteSpace(c) ? $"U+{(int)c:X4}" : $"'{c}'";
    }
}
