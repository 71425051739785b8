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
/// an object or an array they cover the whole raw token, brackets included. A number is converted
/// only when asked (<see cref="TryGetInt64"/>, <see cref="GetDouble"/>): finding a field costs no
/// conversion, and an integer never goes through a double.
/// </remarks>
public readonly struct JsonScalar
{
    public JsonScalar(JsonScalarKind kind, int offset, int length, bool escaped, bool integerToken = false)
    {
        Kind = kind;
        Offset = offset;
        Length = length;
        Escaped = escaped;
        IsIntegerToken = integerToken;
    }

    public JsonScalarKind Kind { get; }

    public int Offset { get; }

    public int Length { get; }

    /// <summary>The string's raw bytes contain at least one backslash escape.</summary>
    public bool Escaped { get; }

    /// <summary>A number written without fraction or exponent (it may still exceed 64 bits).</summary>
    public bool IsIntegerToken { get; }

    public bool IsString => Kind == JsonScalarKind.String;

    public bool IsNumber => Kind == JsonScalarKind.Number;

    /// <summary>True for <see cref="JsonScalarKind.True"/>/<see cref="JsonScalarKind.False"/>.</summary>
    public bool IsBoolean => Kind is JsonScalarKind.True or JsonScalarKind.False;

    /// <summary>The raw value bytes inside the line this scalar was read from.</summary>
    public ReadOnlySpan<byte> RawIn(ReadOnlySpan<byte> line) => line.Slice(Offset, Length);

    /// <summary>The number as a 64-bit integer, exactly: false for a fraction, an exponent, a value
    /// beyond 64 bits or anything that is not a number.</summary>
    public bool TryGetInt64(ReadOnlySpan<byte> line, out long value)
    {
        value = 0;
        if (Kind != JsonScalarKind.Number || !IsIntegerToken)
        {
            return false;
        }

        ReadOnlySpan<byte> token = line.Slice(Offset, Length);
        return Codecs.Internal.JsonNumber.ScanInt64(token, 0, out value, out bool isInt64) == token.Length && isInt64;
    }

    /// <summary>The number correctly rounded to a double (infinite for huge literals); NaN when not a number.</summary>
    public double GetDouble(ReadOnlySpan<byte> line)
    {
        if (Kind != JsonScalarKind.Number)
        {
            return double.NaN;
        }

        ReadOnlySpan<byte> token = line.Slice(Offset, Length);
        return Codecs.Internal.JsonNumber.Scan(token, 0, out double value, out _) == token.Length ? value : double.NaN;
    }
}
