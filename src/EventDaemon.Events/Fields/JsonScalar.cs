namespace EventDaemon.Events.Fields;

/// <summary>Kind of a JSON value found by <see cref="JsonFieldReader"/>.</summary>
public enum JsonScalarKind : byte
{
    /// <summary>No value (the default of <see cref="JsonScalar"/>; never returned by a successful lookup).</summary>
    None = 0,
    String,
    Number,
    True,
    False,
    Null,
    Object,
    Array,
}

/// <summary>
/// One top-level field value located inside a JSON line, described by position rather than copied,
/// so a lookup costs no allocation.
/// </summary>
/// <remarks>
/// <see cref="Offset"/>/<see cref="Length"/> are relative to the line the value was read from.
/// For a string they cover the bytes between the quotes, still JSON-escaped when
/// <see cref="Escaped"/> is set (compare with <see cref="JsonString"/>). For a number, a literal,
/// an object or an array they cover the whole raw token, brackets included.
/// </remarks>
public readonly struct JsonScalar
{
    public JsonScalar(JsonScalarKind kind, int offset, int length, double number, bool escaped)
    {
        Kind = kind;
        Offset = offset;
        Length = length;
        Number = number;
        Escaped = escaped;
    }

    public JsonScalarKind Kind { get; }

    /// <summary>The parsed value when <see cref="Kind"/> is <see cref="JsonScalarKind.Number"/> (may be infinite for huge literals); otherwise 0.</summary>
    public double Number { get; }

    public int Offset { get; }

    public int Length { get; }

    /// <summary>The string's raw bytes contain at least one backslash escape.</summary>
    public bool Escaped { get; }

    public bool IsString => Kind == JsonScalarKind.String;

    public bool IsNumber => Kind == JsonScalarKind.Number;

    /// <summary>True for <see cref="JsonScalarKind.True"/>/<see cref="JsonScalarKind.False"/>.</summary>
    public bool IsBoolean => Kind is JsonScalarKind.True or JsonScalarKind.False;

    /// <summary>The raw value bytes inside the line this scalar was read from.</summary>
    public ReadOnlySpan<byte> RawIn(ReadOnlySpan<byte> line) => line.Slice(Offset, Length);
}
