namespace EventDaemon.Stages.Expressions.Internal;

/// <summary>
/// One test in the compiled program. Each test names the instruction to run next for either
/// outcome, so <c>&amp;&amp;</c>, <c>||</c> and <c>!</c> compile away into jumps and the
/// interpreter is a loop with no stack. Targets below zero end the run:
/// <see cref="Accept"/> or <see cref="Reject"/>.
/// </summary>
internal readonly struct Instruction(InstructionKind kind, CompareOp op, Operand left, Operand right, int listIndex, int onTrue, int onFalse)
{
    public const int Accept = -1;
    public const int Reject = -2;

    public InstructionKind Kind { get; } = kind;

    public CompareOp Op { get; } = op;

    public Operand Left { get; } = left;

    public Operand Right { get; } = right;

    /// <summary>Index into the program's lists for <see cref="InstructionKind.In"/>.</summary>
    public int ListIndex { get; } = listIndex;

    public int OnTrue { get; } = onTrue;

    public int OnFalse { get; } = onFalse;

    public Instruction WithTargets(int onTrue, int onFalse) => new(Kind, Op, Left, Right, ListIndex, onTrue, onFalse);
}
