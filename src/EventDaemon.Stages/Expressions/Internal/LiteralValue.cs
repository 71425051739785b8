namespace EventDaemon.Stages.Expressions.Internal;

/// <summary>A constant from the expression, its string already encoded as UTF-8 at compile time.</summary>
internal readonly struct LiteralValue(ScalarKind kind, byte[]? utf8, double number, long integer, bool isInteger)
{
    public ScalarKind Kind { get; } = kind;

    public byte[]? Utf8 { get; } = utf8;

    public double Number { get; } = number;

    /// <summary>Exact value of an integer literal within 64 bits, so <c>ts == 1764151200000000001</c> is not rounded.</summary>
    public long Integer { get; } = integer;

    public bool IsInteger { get; } = isInteger;
}
