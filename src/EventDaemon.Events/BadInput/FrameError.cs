namespace EventDaemon.Events.BadInput;

/// <summary>
/// Why a binary stream can no longer be decoded. Any of these closes the connection: after a
/// framing error there is no trustworthy way to find the next frame. Labels are a contract like
/// <see cref="InvalidReason"/>'s: appended, never renamed.
/// </summary>
public enum FrameError : byte
{
    None = 0,

    /// <summary><c>frame_length</c> is smaller than the fixed header (28).</summary>
    BadLength = 1,

    /// <summary>The whole frame (4 + <c>frame_length</c>) is larger than <c>max_event_bytes</c>.</summary>
    FrameTooLarge = 2,

    /// <summary><c>version</c> is not one this decoder knows (only 1).</summary>
    UnsupportedVersion = 3,

    /// <summary>A reserved flag bit or the reserved 16-bit field is not zero.</summary>
    ReservedBitsSet = 4,

    /// <summary>28 + <c>type_len</c> + <c>key_len</c> + <c>payload_len</c> differs from <c>frame_length</c>.</summary>
    LengthMismatch = 5,

    /// <summary>A field whose flag is clear is not zero (e.g. <c>type_len</c> without <c>has_type</c>).</summary>
    InconsistentFlags = 6,

    /// <summary>The stream ended in the middle of a frame.</summary>
    Truncated = 7,
}

/// <summary>Stable label strings for <see cref="FrameError"/>, allocated once.</summary>
public static class FrameErrors
{
    public const int Count = 8;

    private static readonly string[] Labels =
    [
        "none",
        "bad_length",
        "frame_too_large",
        "unsupported_version",
        "reserved_bits_set",
        "length_mismatch",
        "inconsistent_flags",
        "truncated",
    ];

    /// <summary>The error's snake_case label; the same string instance on every call.</summary>
    public static string Label(this FrameError error) => (uint)error < (uint)Labels.Length ? Labels[(int)error] : "unknown";
}
