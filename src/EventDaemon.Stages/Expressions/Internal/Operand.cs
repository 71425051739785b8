namespace EventDaemon.Stages.Expressions.Internal;

/// <summary>An instruction's operand: where to read it, and for fields and literals which table entry.</summary>
internal readonly struct Operand(OperandKind kind, int index)
{
    public OperandKind Kind { get; } = kind;

    /// <summary>Index into the program's field-name table or literal table; unused otherwise.</summary>
    public int Index { get; } = index;
}
