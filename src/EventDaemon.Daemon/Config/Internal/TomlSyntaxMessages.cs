using System.Text.RegularExpressions;

namespace EventDaemon.Daemon.Config.Internal;

/// <summary>
/// The TOML parser's syntax errors in eventd's own words: one line that says what is wrong and
/// what would fix it, never the parser's token names (<c>token: closebracket</c>), which mean
/// nothing to someone editing a config.
/// </summary>
internal static partial class TomlSyntaxMessages
{
    /// <summary>Rewords one message; one the table does not know keeps its text, without token names.</summary>
    public static string Reword(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        string text = Plain(message);

        if (Match(ExpectingTokenFound(), text, out Match m))
        {
            string expected = m.Groups["expected"].Value;
            string found = Found(m.Groups["found"].Value);
            return expected switch
            {
                "]" when found == "end of line" => "missing ']' at the end of the table header",
                "]" => $"expected ']' to close the table header, found {found}",
                "]]" => $"expected ']]' to close the array-of-tables header, found {found}",
                "newline" => $"expected the end of the line after the value, found {found} (one key = value per line)",
                "=" => $"expected '=' after the key, found {found}",
                _ => $"expected '{expected}', found {found}",
            };
        }

        if (Match(ValueMissing(), text, out m))
        {
            string found = Found(m.Groups["found"].Value);
            return found == "end of line" ? "missing value after '='" : $"expected a value after '=', found {found}";
        }

        if (Match(EqualsMissing(), text, out m))
        {
            return $"expected '=' and a value after the key, found {Found(m.Groups["found"].Value)}";
        }

        if (Match(StrayToken(), text, out m))
        {
            string found = Found(m.Groups["found"].Value);
            return found == "'='" ? "'=' with no key before it" : $"unexpected {found}";
        }

        if (text.Contains("closing `]` for an array", StringComparison.OrdinalIgnoreCase))
        {
            return text.Contains("<eof>", StringComparison.Ordinal) ? "array not closed: missing ']' before the end of the file" : "array not closed: missing ']'";
        }

        if (text.Contains("inline table", StringComparison.OrdinalIgnoreCase) && text.Contains("<eof>", StringComparison.Ordinal))
        {
            return "inline table not closed: missing '}' before the end of the file";
        }

        if (text.Contains("<eof>", StringComparison.Ordinal) && text.Contains("for a value", StringComparison.Ordinal))
        {
            return "expected a value, found the end of the file";
        }

        if (text.StartsWith("invalid newline in a string", StringComparison.OrdinalIgnoreCase))
        {
            return "string not closed: missing '\"' before the end of the line";
        }

        if (text.StartsWith("invalid end-of-file found", StringComparison.OrdinalIgnoreCase))
        {
            return text.Contains("multi-line", StringComparison.Ordinal)
                ? "multi-line string not closed before the end of the file"
                : "string not closed: missing '\"' before the end of the file";
        }

        return Lower(TokenName().Replace(text, "").Replace("`<eof>`", "the end of the file", StringComparison.Ordinal).Replace('`', '\''));
    }

    /// <summary>The parser's control-picture glyph for a newline, and its end-of-line spellings, as words.</summary>
    private static string Plain(string message) => message
        .Replace("`␤`", "end of line", StringComparison.Ordinal)
        .Replace("␤", "end of line", StringComparison.Ordinal)
        .Replace("end-of-line", "end of line", StringComparison.Ordinal);

    private static string Found(string token)
    {
        string t = token.Trim();
        if (t.Length >= 2 && t[0] == '`' && t[^1] == '`')
        {
            t = t[1..^1];
        }

        return t switch
        {
            "end of line" => "end of line",
            "<eof>" or "Eof" => "the end of the file",
            _ => $"'{t}'",
        };
    }

    private static bool Match(Regex regex, string text, out Match match)
    {
        match = regex.Match(text);
        return match.Success;
    }

    private static string Lower(string text) =>
        text.Length > 1 && char.IsUpper(text[0]) && char.IsLower(text[1]) ? char.ToLowerInvariant(text[0]) + text[1..] : text;

    /// <summary><c>Unexpected token found X (token: `k`) while expecting [token ]`Y`[ (token: `k`)]</c>.</summary>
    [GeneratedRegex(@"^Unexpected token found (?<found>.+?) \(token: `\w+`\) while expecting (?:token )?`(?<expected>[^`]+)`(?: \(token: `\w+`\))?$", RegexOptions.IgnoreCase)]
    private static partial Regex ExpectingTokenFound();

    /// <summary><c>Unexpected token X found while expecting a value</c>.</summary>
    [GeneratedRegex(@"^Unexpected token (?<found>.+?) found while expecting a value", RegexOptions.IgnoreCase)]
    private static partial Regex ValueMissing();

    /// <summary><c>Expecting `=` after a key instead of X</c>.</summary>
    [GeneratedRegex(@"^Expecting `=` after a key instead of (?<found>.+)$", RegexOptions.IgnoreCase)]
    private static partial Regex EqualsMissing();

    /// <summary><c>Unexpected token [X] found</c>.</summary>
    [GeneratedRegex(@"^Unexpected token \[(?<found>.+)\] found$", RegexOptions.IgnoreCase)]
    private static partial Regex StrayToken();

    [GeneratedRegex(@" ?\(token: `[^`]*`\)")]
    private static partial Regex TokenName();
}
