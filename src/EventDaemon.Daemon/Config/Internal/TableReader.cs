using System.Globalization;
using Tomlyn.Syntax;

namespace EventDaemon.Daemon.Config.Internal;

/// <summary>
/// Reads the keys of one table with their types checked, reporting each problem at the value (or
/// key) that causes it. Every key a binder asks for counts as known; whatever the table holds
/// beyond those is reported by <see cref="ReportUnknownKeys"/>. Readers return <c>null</c> when the
/// key is absent or its value is wrong (already reported), so one mistake gives one message.
/// </summary>
/// <param name="declared">Where messages about the table as a whole (a missing key) point.</param>
internal sealed class TableReader(BindContext context, TomlTable table, string owner, ConfigPosition declared)
{
    public TableReader(BindContext context, TomlTable table, string owner)
        : this(context, table, owner, table.Position)
    {
    }

    private readonly HashSet<string> _known = new(StringComparer.Ordinal);

    public TomlTable Table => table;

    /// <summary>"source 'in'", "[daemon]": the table as messages name it.</summary>
    public string Owner => owner;

    public BindContext Context => context;

    /// <summary>Marks <paramref name="key"/> known and returns its entry, if present.</summary>
    public TomlEntry? Entry(string key)
    {
        _known.Add(key);
        return table.Find(key);
    }

    /// <summary>Marks keys known without reading them (keys of a type whose settings were not read).</summary>
    public void Known(IEnumerable<string> keys) => _known.UnionWith(keys);

    public void Missing(string key, string hint = "")
    {
        if (!context.HasSyntaxErrors)
        {
            context.Error(declared, $"{owner} is missing required key '{key}'{hint}");
        }
    }

    /// <param name="elsewhere">For an unknown key, a better explanation than a spelling suggestion (e.g. "does not apply to udp sources").</param>
    public void ReportUnknownKeys(Func<string, string?>? elsewhere = null)
    {
        foreach (TomlEntry entry in table.Entries)
        {
            if (_known.Contains(entry.Key))
            {
                continue;
            }

            string detail = elsewhere?.Invoke(entry.Key) ?? Suggestions.DidYouMean(entry.Key, _known);
            context.Error(entry.KeyPosition, $"unknown key '{entry.Key}' in {owner}{detail}");
        }
    }

    /// <summary>The value of <paramref name="key"/> when it is of syntax type <typeparamref name="T"/>; reports any other type.</summary>
    public T? Value<T>(string key, string expected, out TomlValue? node)
        where T : ValueSyntax
    {
        node = null;
        if (Entry(key) is not { } entry)
        {
            return null;
        }

        if (entry.Value is TomlValue { Syntax: null })
        {
            return null; // lost to a syntax error, already reported
        }

        if (entry.Value is TomlValue { Syntax: T syntax } value)
        {
            node = value;
            return syntax;
        }

        TypeError(key, expected, entry.Value);
        return null;
    }

    public void TypeError(string key, string expected, TomlNode found) =>
        context.Error(found.Position, $"{key}: expected {expected}, found {found.Describe}");

    public string? String(string key) => Value<StringValueSyntax>(key, "a string", out _)?.Value;

    /// <summary>A string that must not be empty.</summary>
    public string? Text(string key)
    {
        StringValueSyntax? syntax = Value<StringValueSyntax>(key, "a string", out TomlValue? node);
        if (syntax?.Value is not { } text)
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            context.Error(node!.Position, $"{key}: must not be empty");
            return null;
        }

        return text;
    }

    /// <summary>A non-empty path, made absolute against the config file's directory.</summary>
    public string? Path(string key) => Text(key) is { } path ? context.ResolvePath(path) : null;

    public bool? Boolean(string key) => Value<BooleanValueSyntax>(key, "a boolean (true or false)", out _)?.Value;

    public long? Integer(string key, long min, long max)
    {
        if (Entry(key) is { Value: TomlValue { Syntax: FloatValueSyntax } number })
        {
            context.Error(number.Position, $"{key}: expected an integer, found a float");
            return null;
        }

        IntegerValueSyntax? syntax = Value<IntegerValueSyntax>(key, "an integer", out TomlValue? node);
        if (syntax is null)
        {
            return null;
        }

        if (syntax.Value < min || syntax.Value > max)
        {
            context.Error(node!.Position, $"{key}: {RangeText(min, max)}, found {syntax.Value.ToString(CultureInfo.InvariantCulture)}");
            return null;
        }

        return syntax.Value;
    }

    public int? Int32(string key, int min, int max) => (int?)Integer(key, min, max);

    /// <param name="minimum">The smallest duration accepted (zero for "no lateness").</param>
    public Duration? Duration(string key, Duration minimum)
    {
        if (Entry(key) is not { } entry || entry.Value is TomlValue { Syntax: null })
        {
            return null;
        }

        switch (entry.Value)
        {
            case TomlValue { Syntax: StringValueSyntax { Value: { } text } } value:
                if (!Config.Duration.TryParse(text, out Duration duration, out string error))
                {
                    context.Error(value.Position, $"{key}: {error}");
                    return null;
                }

                if (duration < minimum)
                {
                    context.Error(value.Position, minimum.Nanoseconds == 1
                        ? $"{key}: must be longer than 0s"
                        : $"{key}: must be at least {minimum}, found \"{text}\"");
                    return null;
                }

                return duration;
            case TomlValue { Syntax: IntegerValueSyntax number } value:
                string n = number.Value.ToString(CultureInfo.InvariantCulture);
                context.Error(value.Position, $"{key}: a duration needs a unit, found the bare number {n} (write \"{n}s\" or \"{n}ms\")");
                return null;
            default:
                TypeError(key, "a duration string such as \"1s\"", entry.Value);
                return null;
        }
    }

    /// <summary>An integer number of bytes, or a string with a unit.</summary>
    public ByteSize? Size(string key, ByteSize min, ByteSize max)
    {
        if (Entry(key) is not { } entry || entry.Value is TomlValue { Syntax: null })
        {
            return null;
        }

        ByteSize size;
        switch (entry.Value)
        {
            case TomlValue { Syntax: IntegerValueSyntax number }:
                if (number.Value < 0)
                {
                    context.Error(entry.Value.Position, $"{key}: sizes cannot be negative");
                    return null;
                }

                size = new ByteSize(number.Value);
                break;
            case TomlValue { Syntax: StringValueSyntax { Value: { } text } }:
                if (!ByteSize.TryParse(text, out size, out string error))
                {
                    context.Error(entry.Value.Position, $"{key}: {error}");
                    return null;
                }

                break;
            default:
                TypeError(key, "a size (bytes, or a string such as \"64MiB\")", entry.Value);
                return null;
        }

        if (size < min || size > max)
        {
            string range = max.Bytes == long.MaxValue ? $"must be at least {min}" : $"must be between {min} and {max}";
            context.Error(entry.Value.Position, $"{key}: {range}, found {size}");
            return null;
        }

        return size;
    }

    public T? Choice<T>(string key, Choices<T> choices)
        where T : struct, Enum
    {
        StringValueSyntax? syntax = Value<StringValueSyntax>(key, $"a string (one of {choices.List})", out TomlValue? node);
        if (syntax?.Value is not { } text)
        {
            return null;
        }

        if (choices.TryParse(text, out T value))
        {
            return value;
        }

        context.Error(node!.Position, $"{key}: unknown value '{text}'{Suggestions.DidYouMean(text, choices.Names)}; expected one of {choices.List}");
        return null;
    }

    public HostPort? Address(string key, bool allowPortZero)
    {
        StringValueSyntax? syntax = Value<StringValueSyntax>(key, "a string (\"host:port\")", out TomlValue? node);
        if (syntax?.Value is not { } text)
        {
            return null;
        }

        if (HostPort.TryParse(text, allowPortZero, out HostPort address, out string error))
        {
            return address;
        }

        context.Error(node!.Position, $"{key}: {error}");
        return null;
    }

    public FieldRef? Field(string key)
    {
        StringValueSyntax? syntax = Value<StringValueSyntax>(key, "a string (type, key or .name)", out TomlValue? node);
        if (syntax?.Value is not { } text)
        {
            return null;
        }

        if (FieldRef.TryParse(text, out FieldRef field, out string error))
        {
            return field;
        }

        context.Error(node!.Position, $"{key}: {error}");
        return null;
    }

    /// <summary>An array whose items are all strings, with each item's position.</summary>
    public List<(string Value, ConfigPosition Position)>? StringArray(string key)
    {
        if (Entry(key) is not { } entry || entry.Value is TomlValue { Syntax: null })
        {
            return null;
        }

        if (entry.Value is TomlValue { Syntax: StringValueSyntax { Value: { } single } })
        {
            context.Error(entry.Value.Position, $"{key}: expected an array of strings, found a string (write {key} = [\"{single}\"])");
            return null;
        }

        if (entry.Value is not TomlValue { Syntax: ArraySyntax array })
        {
            TypeError(key, "an array of strings", entry.Value);
            return null;
        }

        var items = new List<(string, ConfigPosition)>();
        bool valid = true;
        int index = 0;
        foreach (ArrayItemSyntax item in array.Items)
        {
            if (item.Value is StringValueSyntax { Value: { } text } literal)
            {
                items.Add((text, At(literal)));
            }
            else if (item.Value is not null)
            {
                context.Error(At(item.Value), $"{key}[{index}]: expected a string, found {TomlValue.DescribeSyntax(item.Value)}");
                valid = false;
            }

            index++;
        }

        return valid ? items : null;
    }

    public List<(long Value, ConfigPosition Position)>? IntegerArray(string key)
    {
        if (Entry(key) is not { } entry || entry.Value is TomlValue { Syntax: null })
        {
            return null;
        }

        if (entry.Value is not TomlValue { Syntax: ArraySyntax array })
        {
            TypeError(key, "an array of integers", entry.Value);
            return null;
        }

        var items = new List<(long, ConfigPosition)>();
        bool valid = true;
        int index = 0;
        foreach (ArrayItemSyntax item in array.Items)
        {
            if (item.Value is IntegerValueSyntax number)
            {
                items.Add((number.Value, At(number)));
            }
            else if (item.Value is not null)
            {
                context.Error(At(item.Value), $"{key}[{index}]: expected an integer, found {TomlValue.DescribeSyntax(item.Value)}");
                valid = false;
            }

            index++;
        }

        return valid ? items : null;
    }

    /// <summary>Reports the second occurrence of each repeated item; <c>true</c> when all are distinct.</summary>
    public bool CheckDistinct<T>(string key, IEnumerable<(T Value, ConfigPosition Position)> items, Func<T, string> show)
    {
        var seen = new HashSet<T>();
        bool distinct = true;
        foreach ((T value, ConfigPosition position) in items)
        {
            if (!seen.Add(value))
            {
                context.Error(position, $"{key}: {show(value)} is listed twice");
                distinct = false;
            }
        }

        return distinct;
    }

    private ConfigPosition At(SyntaxNode node) =>
        new(context.File, node.Span.Start.Line + 1, node.Span.Start.Column + 1);

    private static string RangeText(long min, long max) =>
        max == long.MaxValue || max == int.MaxValue
            ? $"must be at least {min.ToString(CultureInfo.InvariantCulture)}"
            : $"must be between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}";
}
