namespace EventDaemon.Events.BadInput;

/// <summary>
/// Why an input event was skipped. The labels (see <see cref="InvalidReasons.Label"/>) are the
/// <c>reason</c> values of <c>events_invalid_total</c>: a contract operators script against, so a
/// label is never renamed and a value is never renumbered; new reasons are appended.
/// </summary>
public enum InvalidReason : byte
{
    /// <summary>Not an error (the value of a successful decode).</summary>
    None = 0,

    /// <summary>The line is not valid JSON (syntax error, control character in a string, bad escape, NUL byte, empty after whitespace).</summary>
    NotJson = 1,

    /// <summary>The line is valid JSON but its top-level value is not an object.</summary>
    NotObject = 2,

    /// <summary>One JSON object followed by more non-whitespace bytes on the same line.</summary>
    TrailingData = 3,

    /// <summary>The line is not valid UTF-8.</summary>
    InvalidUtf8 = 4,

    /// <summary>Objects/arrays nested deeper than <c>JsonEventParser.MaxDepth</c>.</summary>
    TooDeep = 5,

    /// <summary><c>ts</c> is neither an integer of Unix nanoseconds that fits in 64 bits nor an RFC 3339 string in that range.</summary>
    BadTs = 6,

    /// <summary><c>type</c> is not a string.</summary>
    BadType = 7,

    /// <summary><c>key</c> is not a string.</summary>
    BadKey = 8,

    /// <summary><c>value</c> is not a number, or is a number outside the double range (e.g. <c>1e400</c>).</summary>
    BadValue = 9,

    /// <summary><c>type</c> or <c>key</c> is longer than 65535 raw bytes.</summary>
    FieldTooLong = 10,

    /// <summary>Longer than <c>max_event_bytes</c> (counted in <c>events_oversized_total</c>, kept here so <c>ctl errors</c> can show it).</summary>
    Oversized = 11,
}

/// <summary>Stable label strings for <see cref="InvalidReason"/>, allocated once.</summary>
public static class InvalidReasons
{
    /// <summary>Number of defined reasons including <see cref="InvalidReason.None"/>; counters can be arrays of this size.</summary>
    public const int Count = 12;

    private static readonly string[] Labels =
    [
        "none",
        "not_json",
        "not_object",
        "trailing_data",
        "invalid_utf8",
        "too_deep",
        "bad_ts",
        "bad_type",
        "bad_key",
        "bad_value",
        "field_too_long",
        "oversized",
    ];

    /// <summary>The reason's snake_case label; the same string instance on every call.</summary>
    public static string Label(this InvalidReason reason) => (uint)reason < (uint)Labels.Length ? Labels[(int)reason] : "unknown";

    /// <summary>Parses a label back to its reason (for tests and tools).</summary>
    public static bool TryParse(ReadOnlySpan<char> label, out InvalidReason reason)
    {
        for (int i = 0; i < Labels.Length; i++)
        {
            if (label.SequenceEqual(Labels[i]))
            {
                reason = (InvalidReason)i;
                return true;
            }
        }

        reason = InvalidReason.None;
        return false;
    }
}
