namespace EventDaemon.Stages.Expressions.Internal;

/// <summary>One lexeme. <see cref="Text"/> holds the identifier, the unescaped string or the field name.</summary>
internal readonly struct Token
{
    public Token(TokenKind kind, int start, int end, string? text = null, double number = 0, long integer = 0, bool isInteger = false)
    {
        Kind = kind;
        Start = start;
        End = end;
        Text = text;
        Number = number;
        Integer = integer;
        IsInteger = isInteger;
    }

    public TokenKind Kind { get; }

    /// <summary>UTF-16 index of the first character in the expression text.</summary>
    public int Start { get; }

    /// <summary>UTF-16 index just past the last character.</summary>
    public int End { get; }

    public string? Text { get; }

    public double Number { get; }

    /// <summary>The exact value of an integer literal that fits in 64 bits (meaningful with <see cref="IsInteger"/>).</summary>
    public long Integer { get; }

    public bool IsInteger { get; }
}
