namespace EventDaemon.Stages.Expressions.Internal;

/// <summary>Where an operand's value comes from when an event is evaluated.</summary>
internal enum OperandKind : byte
{
    /// <summary>The slot's <c>type</c> string.</summary>
    Type,

    /// <summary>The slot's <c>key</c> string.</summary>
    Key,

    /// <summary>The slot's <c>value</c> number.</summary>
    Value,

    /// <summary>The slot's timestamp, an exact integer of nanoseconds.</summary>
    Timestamp,

    /// <summary>A top-level field of the JSON payload, looked up by name.</summary>
    Field,

    /// <summary>A constant from the expression text.</summary>
    Literal,
}
