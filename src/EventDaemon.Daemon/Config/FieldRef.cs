namespace EventDaemon.Daemon.Config;

/// <summary>
/// A reference to part of an event as the config writes it: <c>type</c>, <c>key</c>, or a
/// top-level scalar field <c>.name</c>.
/// </summary>
/// <param name="Name">The field name without its dot; <c>type</c> or <c>key</c> for those kinds.</param>
public readonly record struct FieldRef(FieldRefKind Kind, string Name)
{
    public static FieldRef Type => new(FieldRefKind.Type, "type");

    public static FieldRef Key => new(FieldRefKind.Key, "key");

    public static FieldRef Field(string name) => new(FieldRefKind.Field, name);

    /// <summary>The name an aggregate gives this group field in its output: the field without its dot.</summary>
    public string OutputName => Name;

    public static bool TryParse(string text, out FieldRef value, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        value = default;
        error = "";
        switch (text)
        {
            case "type":
                value = Type;
                return true;
            case "key":
                value = Key;
                return true;
        }

        if (text.Length > 1 && text[0] == '.')
        {
            string name = text[1..];
            if (name.AsSpan().IndexOfAny(" \t\r\n.\"") >= 0)
            {
                error = $"'{text}' is not a field name: a field is a top-level name without spaces, dots or quotes";
                return false;
            }

            value = Field(name);
            return true;
        }

        error = text.Length == 0 || text == "."
            ? "empty field reference (use type, key or .name)"
            : $"'{text}' is not a field reference (use type, key or .name; did you mean '.{text.TrimStart('.')}'?)";
        return false;
    }

    public override string ToString() => Kind == FieldRefKind.Field ? "." + Name : Name;
}
