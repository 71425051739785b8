namespace EventDaemon.Stages.Expressions.Internal;

/// <summary>What a <see cref="Step"/> tests, each kind with its operands already resolved.</summary>
internal enum StepKind : byte
{
    /// <summary><c>type == "text"</c> or <c>!=</c>.</summary>
    TypeString,

    /// <summary><c>key == "text"</c> or <c>!=</c>.</summary>
    KeyString,

    /// <summary><c>value op number</c>, the literal exact as a double: one double comparison.</summary>
    ValueNumber,

    /// <summary><c>value op integer</c> beyond 2^53, where a double comparison would round: exact.</summary>
    ValueInteger,

    /// <summary><c>.field == "text"</c> or <c>!=</c>, the field in the decoder's row.</summary>
    RowString,

    /// <summary><c>.field op number</c>, the field in the decoder's row.</summary>
    RowNumber,

    /// <summary>Anything else: the instruction at <see cref="Step.Index"/>, run by the general path.</summary>
    General,
}

/// <summary>
/// One instruction of a program prepared for the decoder's row (<see cref="FilterProgram"/>'s row
/// path): the common shapes carry their literal, field index and wanted outcomes inline, so a test
/// is one switch and a compare, with no operand dispatch and no lookup in the literal table.
/// </summary>
/// <remarks>
/// Outcomes are a mask over the three orders, <see cref="Less"/>, <see cref="Equal"/> and
/// <see cref="Greater"/>: <c>&lt;=</c> is Less|Equal, <c>!=</c> is Less|Greater. Operands with no
/// order (a NaN) set no bit, so every comparison with them is false, as the language says.
/// </remarks>
internal readonly struct Step
{
    public const byte Less = 1;
    public const byte Equal = 2;
    public const byte Greater = 4;

    public readonly StepKind Kind;

    /// <summary>The orders for which the test is true.</summary>
    public readonly byte Outcomes;

    /// <summary>The literal is an integer within 64 bits (<see cref="Integer"/> is exact).</summary>
    public readonly bool LiteralIsInteger;

    /// <summary>Row kinds: the field's index in the bound catalog. General: the instruction's index.</summary>
    public readonly int Index;

    /// <summary>Row kinds: the field's index in the program's name table (to scan for it without a row).</summary>
    public readonly int Name;

    public readonly int OnTrue;

    public readonly int OnFalse;

    public readonly double Number;

    public readonly long Integer;

    /// <summary>String kinds: the literal's UTF-8 bytes (never escaped).</summary>
    public readonly byte[]? Text;

    public Step(StepKind kind, byte outcomes, int index, int name, int onTrue, int onFalse, double number = 0, long integer = 0, bool literalIsInteger = false, byte[]? text = null)
    {
        Kind = kind;
        Outcomes = outcomes;
        Index = index;
        Name = name;
        OnTrue = onTrue;
        OnFalse = onFalse;
        Number = number;
        Integer = integer;
        LiteralIsInteger = literalIsInteger;
        Text = text;
    }

    /// <summary>The orders for which <paramref name="op"/> holds.</summary>
    public static byte OutcomesOf(CompareOp op) => op switch
    {
        CompareOp.Equal => Equal,
        CompareOp.NotEqual => Less | Greater,
        CompareOp.Less => Less,
        CompareOp.LessOrEqual => Less | Equal,
        CompareOp.Greater => Greater,
        _ => Greater | Equal,
    };

    /// <summary>Whether a comparison result (-1, 0, 1 or <see cref="NumberComparison.Unordered"/>) is one of <paramref name="outcomes"/>.</summary>
    public static bool Holds(byte outcomes, int comparison) =>
        comparison != NumberComparison.Unordered && (outcomes & (1 << (Math.Sign(comparison) + 1))) != 0;
}
