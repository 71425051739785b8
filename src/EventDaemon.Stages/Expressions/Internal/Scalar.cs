namespace EventDaemon.Stages.Expressions.Internal;

/// <summary>
/// An operand's value for one event, on the stack: a number, a string (as raw bytes inside the
/// payload or a literal, escaped or not), a JSON literal, a container, or missing.
/// </summary>
internal ref struct Scalar
{
    public ScalarKind Kind;

    /// <summary>A string's bytes still hold JSON escapes (only payload strings can).</summary>
    public bool Escaped;

    /// <summary>The number is exact in <see cref="Integer"/> (ts, integer literals).</summary>
    public bool IsInteger;

    public long Integer;

    public double Number;

    public ReadOnlySpan<byte> Bytes;
}
