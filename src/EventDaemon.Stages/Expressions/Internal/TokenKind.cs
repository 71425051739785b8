namespace EventDaemon.Stages.Expressions.Internal;

internal enum TokenKind : byte
{
    End,
    Identifier,
    Field,
    String,
    Number,
    LeftParen,
    RightParen,
    LeftBracket,
    RightBracket,
    Comma,
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    And,
    Or,
    Not,
}
