namespace EventDaemon.Stages.Expressions.Internal;

internal enum CompareOp : byte
{
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}
