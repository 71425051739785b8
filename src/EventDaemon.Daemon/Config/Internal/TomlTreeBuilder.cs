using Tomlyn.Syntax;

namespace EventDaemon.Daemon.Config.Internal;

/// <summary>
/// Merges Tomlyn's syntax tree into a tree of <see cref="TomlTable"/>, applying TOML's rules for defining
/// a key or table twice. Tomlyn's own semantic pass is not used: it is skipped whenever the file
/// has a syntax error, and doing it here reports duplicates in every case, in eventd's words.
/// </summary>
internal sealed class TomlTreeBuilder
{
    private readonly string _file;
    private readonly DiagnosticBag _diagnostics;

    private TomlTreeBuilder(string file, DiagnosticBag diagnostics)
    {
        _file = file;
        _diagnostics = diagnostics;
    }

    public static TomlTable Build(DocumentSyntax document, string file, DiagnosticBag diagnostics)
    {
        var builder = new TomlTreeBuilder(file, diagnostics);
        var root = new TomlTable(new ConfigPosition(file, 1, 1), TableOrigin.Root);
        foreach (KeyValueSyntax keyValue in document.KeyValues)
        {
            builder.AddKeyValue(root, keyValue);
        }

        foreach (TableSyntaxBase table in document.Tables)
        {
            ConfigPosition position = builder.At(table.Span.Start);
            List<KeyPart>? parts = builder.PartsOf(table.Name);
            TomlTable target = parts is null
                ? Detached(position)
                : table is TableArraySyntax
                    ? builder.OpenTableArray(root, parts, position)
                    : builder.OpenTable(root, parts, position);
            foreach (KeyValueSyntax keyValue in table.Items)
            {
                builder.AddKeyValue(target, keyValue);
            }
        }

        return root;
    }

    public ConfigPosition At(TextPosition position) => new(_file, position.Line + 1, position.Column + 1);

    /// <summary>A table not reachable from the root: its keys are still checked for duplicates, then dropped.</summary>
    private static TomlTable Detached(ConfigPosition position) => new(position, TableOrigin.Header);

    private static string PathOf(List<KeyPart> parts, int count) => string.Join('.', parts.Take(count).Select(p => p.Name));

    private TomlTable OpenTable(TomlTable root, List<KeyPart> parts, ConfigPosition header)
    {
        TomlTable? parent = DescendForHeader(root, parts);
        if (parent is null)
        {
            return Detached(header);
        }

        KeyPart last = parts[^1];
        TomlEntry? existing = parent.Find(last.Name);
        if (existing is null)
        {
            var table = new TomlTable(header, TableOrigin.Header);
            parent.Add(new TomlEntry(last.Name, last.Position, table));
            return table;
        }

        if (existing.Value is TomlTable { Origin: TableOrigin.Implicit } implicitTable)
        {
            implicitTable.Origin = TableOrigin.Header;
            implicitTable.Position = header;
            return implicitTable;
        }

        string path = PathOf(parts, parts.Count);
        _diagnostics.Error(header, existing.Value is TomlTable { Origin: TableOrigin.Header }
            ? $"table [{path}] is defined twice (first on line {existing.Value.Position.Line})"
            : $"'{path}' is already defined as {existing.Value.Describe} on line {existing.Value.Position.Line}");
        return Detached(header);
    }

    private TomlTable OpenTableArray(TomlTable root, List<KeyPart> parts, ConfigPosition header)
    {
        TomlTable? parent = DescendForHeader(root, parts);
        if (parent is null)
        {
            return Detached(header);
        }

        KeyPart last = parts[^1];
        TomlEntry? existing = parent.Find(last.Name);
        TomlTableArray array;
        if (existing is null)
        {
            array = new TomlTableArray(header);
            parent.Add(new TomlEntry(last.Name, last.Position, array));
        }
        else if (existing.Value is TomlTableArray known)
        {
            array = known;
        }
        else
        {
            _diagnostics.Error(header, $"'{PathOf(parts, parts.Count)}' is already defined as {existing.Value.Describe} on line {existing.Value.Position.Line}");
            return Detached(header);
        }

        var table = new TomlTable(header, TableOrigin.Header);
        array.Tables.Add(table);
        return table;
    }

    /// <summary>Walks (creating) every table named by a header but the last; <c>null</c> after reporting a clash.</summary>
    private TomlTable? DescendForHeader(TomlTable root, List<KeyPart> parts)
    {
        TomlTable current = root;
        for (int i = 0; i < parts.Count - 1; i++)
        {
            KeyPart part = parts[i];
            TomlEntry? entry = current.Find(part.Name);
            switch (entry?.Value)
            {
                case null:
                    var created = new TomlTable(part.Position, TableOrigin.Implicit);
                    current.Add(new TomlEntry(part.Name, part.Position, created));
                    current = created;
                    break;
                case TomlTable { Origin: TableOrigin.Inline } inline:
                    _diagnostics.Error(part.Position, $"'{PathOf(parts, i + 1)}' is an inline table (line {inline.Position.Line}) and cannot be extended");
                    return null;
                case TomlTable table:
                    current = table;
                    break;
                case TomlTableArray array:
                    current = array.Tables[^1];
                    break;
                default:
                    _diagnostics.Error(part.Position, $"'{PathOf(parts, i + 1)}' is already defined as {entry.Value.Describe} on line {entry.Value.Position.Line}");
                    return null;
            }
        }

        return current;
    }

    private void AddKeyValue(TomlTable table, KeyValueSyntax keyValue)
    {
        List<KeyPart>? parts = PartsOf(keyValue.Key);
        if (parts is null)
        {
            return; // the syntax error that lost the key is already reported
        }

        TomlTable target = table;
        for (int i = 0; i < parts.Count - 1; i++)
        {
            KeyPart part = parts[i];
            TomlEntry? entry = target.Find(part.Name);
            if (entry is null)
            {
                var created = new TomlTable(part.Position, TableOrigin.Dotted);
                target.Add(new TomlEntry(part.Name, part.Position, created));
                target = created;
            }
            else if (entry.Value is TomlTable { Origin: TableOrigin.Dotted } dotted)
            {
                target = dotted;
            }
            else
            {
                string path = PathOf(parts, i + 1);
                _diagnostics.Error(part.Position, entry.Value is TomlTable
                    ? $"'{path}' is already defined on line {entry.Value.Position.Line}; a dotted key cannot add to it"
                    : $"'{path}' is already defined as {entry.Value.Describe} on line {entry.Value.Position.Line}");
                return;
            }
        }

        KeyPart last = parts[^1];
        TomlEntry? existing = target.Find(last.Name);
        if (existing is not null)
        {
            _diagnostics.Error(last.Position, $"duplicate key '{PathOf(parts, parts.Count)}' (first defined on line {existing.KeyPosition.Line})");
            return;
        }

        ConfigPosition valuePosition = keyValue.Value is { } value ? At(value.Span.Start) : last.Position;
        target.Add(new TomlEntry(last.Name, last.Position, ToNode(keyValue.Value, valuePosition)));
    }

    private TomlNode ToNode(ValueSyntax? value, ConfigPosition position)
    {
        if (value is not InlineTableSyntax inline)
        {
            return new TomlValue(position, value);
        }

        var table = new TomlTable(position, TableOrigin.Inline);
        foreach (InlineTableItemSyntax item in inline.Items)
        {
            if (item.KeyValue is { } keyValue)
            {
                AddKeyValue(table, keyValue);
            }
        }

        return table;
    }

    private List<KeyPart>? PartsOf(KeySyntax? key)
    {
        if (key is null || PartOf(key.Key) is not { } first)
        {
            return null;
        }

        var parts = new List<KeyPart> { first };
        foreach (DottedKeyItemSyntax dotted in key.DotKeys)
        {
            if (PartOf(dotted.Key) is not { } part)
            {
                return null;
            }

            parts.Add(part);
        }

        return parts;
    }

    private KeyPart? PartOf(BareKeyOrStringValueSyntax? key) => key switch
    {
        BareKeySyntax { Key.Text: { } text } bare => new KeyPart(text, At(bare.Span.Start)),
        StringValueSyntax { Value: { } text } quoted => new KeyPart(text, At(quoted.Span.Start)),
        _ => null,
    };

    private readonly record struct KeyPart(string Name, ConfigPosition Position);
}
