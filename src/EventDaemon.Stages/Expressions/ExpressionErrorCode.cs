namespace EventDaemon.Stages.Expressions;

/// <summary>What kind of mistake an <see cref="ExpressionError"/> reports.</summary>
public enum ExpressionErrorCode
{
    None = 0,

    /// <summary>The expression is empty or only whitespace.</summary>
    EmptyExpression,

    /// <summary>A character that starts no token (<c>=</c>, <c>&amp;</c>, a lone <c>-</c>, <c>#</c>…).</summary>
    UnexpectedCharacter,

    /// <summary>A string literal (or quoted field name) with no closing quote on its line.</summary>
    UnterminatedString,

    /// <summary>A backslash escape JSON does not define, or a <c>\u</c> escape that is not a valid UTF-16 sequence.</summary>
    InvalidEscape,

    /// <summary>A malformed number (<c>1.</c>, <c>1e</c>, <c>12ab</c>) or one too large for a double.</summary>
    InvalidNumber,

    /// <summary>A token where the grammar allows none of its kind.</summary>
    UnexpectedToken,

    /// <summary>The text ends where more is required (after <c>&amp;&amp;</c>, inside parentheses…).</summary>
    UnexpectedEnd,

    /// <summary>A bare word that is not <c>type</c>, <c>key</c>, <c>value</c>, <c>ts</c>, a literal or a function.</summary>
    UnknownName,

    /// <summary>A call to a function the language does not have.</summary>
    UnknownFunction,

    /// <summary>A function called with the wrong number of arguments.</summary>
    WrongArgumentCount,

    /// <summary>A function argument of a kind the function cannot take (<c>exists(3)</c>, <c>contains(value, "x")</c>).</summary>
    ArgumentType,

    /// <summary>A value where a condition is required (<c>type &amp;&amp; key == "a"</c>, <c>!type</c>, a whole expression <c>.f</c>).</summary>
    NotACondition,

    /// <summary>A condition where a value is required (<c>exists(.a) == true</c>, <c>(a == 1) == (b == 2)</c>).</summary>
    ConditionAsValue,

    /// <summary>A comparison written as a chain (<c>1 &lt; value &lt; 5</c>).</summary>
    ChainedComparison,

    /// <summary>Nesting deeper than the compiler accepts.</summary>
    TooDeep,
}
