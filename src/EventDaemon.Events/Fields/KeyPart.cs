using System.Text;

namespace EventDaemon.Events.Fields;

/// <summary>Which part of an event one element of a key is: <c>type</c>, <c>key</c> or a named field.</summary>
public enum KeyPartKind : byte
{
    Type,
    Key,
    Field,
}

/// <summary>One element of a key (an aggregate's <c>group_by</c>): for
/// <see cref="KeyPartKind.Field"/>, the field's name and its index in the ring's
/// <see cref="FieldCatalog"/> (-1 when the catalog does not hold it: the line is then scanned).</summary>
public readonly struct KeyPart
{
    private KeyPart(KeyPartKind kind, string? name, byte[]? utf8, int field)
    {
        Kind = kind;
        Name = name;
        NameUtf8 = utf8;
        Field = field;
    }

    public static KeyPart Type => new(KeyPartKind.Type, null, null, -1);

    public static KeyPart Key => new(KeyPartKind.Key, null, null, -1);

    public KeyPartKind Kind { get; }

    /// <summary>The field's name without its dot (<see cref="KeyPartKind.Field"/> only).</summary>
    public string? Name { get; }

    public byte[]? NameUtf8 { get; }

    /// <summary>The field's index in the catalog the part was bound to, or -1.</summary>
    public int Field { get; }

    public static KeyPart Named(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new KeyPart(KeyPartKind.Field, name, Encoding.UTF8.GetBytes(name), -1);
    }

    /// <summary>The same part with its field index looked up in <paramref name="catalog"/>.</summary>
    public KeyPart In(FieldCatalog catalog) =>
        Kind == KeyPartKind.Field ? new KeyPart(Kind, Name, NameUtf8, catalog.IndexOf(NameUtf8)) : this;

    /// <summary>Same kind and, for fields, same name (the index does not count).</summary>
    public bool SameAs(KeyPart other) => Kind == other.Kind && (Kind != KeyPartKind.Field || Name == other.Name);

    public override string ToString() => Kind switch
    {
        KeyPartKind.Type => "type",
        KeyPartKind.Key => "key",
        _ => "." + Name,
    };
}
