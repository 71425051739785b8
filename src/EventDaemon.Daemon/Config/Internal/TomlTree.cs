using Tomlyn.Syntax;

namespace EventDaemon.Daemon.Config.Internal;

/// <summary>
/// The document as TOML means it (tables merged from headers, dotted keys and inline tables),
/// with the position of every key and value kept for messages. Built from Tomlyn's syntax tree
/// by <see cref="TomlTreeBuilder"/>; no reflection involved, so it is safe under Native AOT.
/// </summary>
internal abstract class TomlNode(ConfigPosition position)
{
    /// <summary>Where the value starts, or where the table is declared.</summary>
    public ConfigPosition Position { get; set; } = position;

    /// <summary>"a string", "an integer"...: what the config holds here, for "expected X, found Y".</summary>
    public abstract string Describe { get; }
}

internal enum TableOrigin
{
    Root,

    /// <summary>Created as a parent of a header (<c>sources</c> in <c>[sources.in]</c>); a later header may still define it.</summary>
    Implicit,

    /// <summary>Defined by its own <c>[header]</c>.</summary>
    Header,

    /// <summary>Created by a dotted key (<c>in.type = "tcp"</c>).</summary>
    Dotted,

    /// <summary>An inline table <c>{ ... }</c>, complete as written.</summary>
    Inline,
}

internal sealed class TomlTable(ConfigPosition position, TableOrigin origin) : TomlNode(position)
{
    private readonly List<TomlEntry> _entries = [];
    private readonly Dictionary<string, TomlEntry> _byKey = new(StringComparer.Ordinal);

    public TableOrigin Origin { get; set; } = origin;

    /// <summary>In the order the keys first appear.</summary>
    public IReadOnlyList<TomlEntry> Entries => _entries;

    public override string Describe => "a table";

    public TomlEntry? Find(string key) => _byKey.GetValueOrDefault(key);

    public void Add(TomlEntry entry)
    {
        _byKey.Add(entry.Key, entry);
        _entries.Add(entry);
    }
}

/// <summary>A key of a table and its value.</summary>
/// <param name="KeyPosition">Where the key is written (for unknown-key messages).</param>
internal sealed record TomlEntry(string Key, ConfigPosition KeyPosition, TomlNode Value);

/// <summary>A scalar or an array.</summary>
/// <param name="syntax"><c>null</c> when a syntax error left the key without a value (already reported).</param>
internal sealed class TomlValue(ConfigPosition position, ValueSyntax? syntax) : TomlNode(position)
{
    public ValueSyntax? Syntax { get; } = syntax;

    public override string Describe => DescribeSyntax(Syntax);

    public static string DescribeSyntax(ValueSyntax? syntax) => syntax switch
    {
        StringValueSyntax => "a string",
        IntegerValueSyntax => "an integer",
        FloatValueSyntax => "a float",
        BooleanValueSyntax => "a boolean",
        DateTimeValueSyntax => "a date-time",
        ArraySyntax => "an array",
        InlineTableSyntax => "a table",
        _ => "nothing",
    };
}

/// <summary><c>[[name]]</c>: eventd's config has none, but a file may, and it deserves a clear message.</summary>
internal sealed class TomlTableArray(ConfigPosition position) : TomlNode(position)
{
    public List<TomlTable> Tables { get; } = [];

    public override string Describe => "an array of tables";
}
