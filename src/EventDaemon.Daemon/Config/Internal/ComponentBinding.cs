namespace EventDaemon.Daemon.Config.Internal;

/// <summary>What binding a source, transform or sink has in common: its type, its inputs, and its unknown keys.</summary>
internal static class ComponentBinding
{
    /// <summary>Where a component is declared: the <c>[</c> of its own header, else its key (inline or dotted forms).</summary>
    public static ConfigPosition Declared(TomlTable table, ConfigPosition keyPosition) =>
        table.Origin == TableOrigin.Header ? table.Position : keyPosition;

    /// <summary>The component's <c>type</c> when present and one of <paramref name="types"/>; otherwise reports and returns <c>null</c>.</summary>
    public static string? ReadType(TableReader reader, string[] types, string kind)
    {
        string list = string.Join(", ", types);
        Tomlyn.Syntax.StringValueSyntax? syntax = reader.Value<Tomlyn.Syntax.StringValueSyntax>("type", $"a string (one of {list})", out TomlValue? node);
        if (reader.Table.Find("type") is null)
        {
            reader.Missing("type", $" (one of {list})");
            return null;
        }

        if (syntax?.Value is not { } text)
        {
            return null;
        }

        if (!types.Contains(text))
        {
            reader.Context.Error(node!.Position, $"type: unknown {kind} type '{text}'{Suggestions.DidYouMean(text, types)}; expected one of {list}");
            return null;
        }

        return text;
    }

    /// <summary>Reads <c>inputs</c> into the draft: required, non-empty, each entry once.</summary>
    public static void ReadInputs(TableReader reader, ComponentDraft draft)
    {
        List<(string Value, ConfigPosition Position)>? inputs = reader.StringArray("inputs");
        TomlEntry? entry = reader.Table.Find("inputs");
        if (entry is null)
        {
            reader.Missing("inputs", " (the components it reads from, e.g. inputs = [\"in\"])");
            return;
        }

        if (inputs is null)
        {
            return;
        }

        if (inputs.Count == 0)
        {
            reader.Context.Error(entry.Value.Position, "inputs: must name at least one component");
            return;
        }

        reader.CheckDistinct("inputs", inputs, input => $"'{input}'");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string text, ConfigPosition position) in inputs)
        {
            if (seen.Add(text))
            {
                draft.Inputs.Add((text, position));
            }
        }
    }

    public static EquatableArray<string> InputNames(ComponentDraft draft) => new(draft.Inputs.Select(input => input.Text));

    /// <summary>
    /// Reports keys no binder asked for. A key that belongs to another type of the same kind gets
    /// that said, which helps more than a spelling suggestion; when the type itself is unknown,
    /// every key of the kind is accepted so that only the type error is reported.
    /// </summary>
    public static void ReportUnknownKeys(TableReader reader, string? type, Dictionary<string, string[]> keysByType, string kind)
    {
        if (type is null)
        {
            reader.Known(keysByType.Values.SelectMany(keys => keys));
            reader.ReportUnknownKeys();
            return;
        }

        reader.ReportUnknownKeys(key =>
        {
            string[] owners = [.. keysByType.Where(pair => pair.Value.Contains(key)).Select(pair => pair.Key)];
            return owners.Length == 0 ? null : $" (it applies to {JoinAnd(owners)} {kind}s, not {type})";
        });
    }

    private static string JoinAnd(string[] items) =>
        items.Length == 1 ? items[0] : string.Join(", ", items[..^1]) + " and " + items[^1];
}
