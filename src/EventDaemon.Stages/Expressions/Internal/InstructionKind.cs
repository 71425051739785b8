namespace EventDaemon.Stages.Expressions.Internal;

internal enum InstructionKind : byte
{
    /// <summary><c>Left Op Right</c>, any operands.</summary>
    Compare,

    /// <summary><c>type == "literal"</c> (or <c>!=</c>): the filter everyone writes, compared without building scalars.</summary>
    TypeEqualsString,

    /// <summary><c>key == "literal"</c> (or <c>!=</c>).</summary>
    KeyEqualsString,

    /// <summary><c>value Op number</c>.</summary>
    ValueCompareNumber,

    /// <summary><c>Left in list</c>.</summary>
    In,
    StartsWith,
    Contains,
    Exists,
}
