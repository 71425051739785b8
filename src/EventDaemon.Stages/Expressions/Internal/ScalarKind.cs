namespace EventDaemon.Stages.Expressions.Internal;

/// <summary>The type of an operand's value for one event; values of different kinds never compare true.</summary>
internal enum ScalarKind : byte
{
    /// <summary>The operand is absent from the event; every comparison with it is false.</summary>
    Missing = 0,
    String,
    Number,
    True,
    False,
    Null,

    /// <summary>A JSON object or array: present (for <c>exists</c>) but equal to nothing, itself included.</summary>
    Container,
}
