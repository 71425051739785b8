using System.Runtime.CompilerServices;
using System.Text;
using EventDaemon.Events.Fields;

namespace EventDaemon.Stages.Transforms;

/// <summary>Which part of an event a transform keys on: <c>type</c>, <c>key</c> or a top-level <c>.field</c>.</summary>
public enum FieldSelectorKind
{
    Type,
    Key,
    Field,
}

/// <summary>
/// A field reference of a sample, throttle, dedupe or enrich transform, resolved per event to
/// the bytes of its value without allocating.
/// </summary>
/// <remarks>
/// A value is identified by its text: strings by their unescaped UTF-8 (so <c>"ab"</c> and
/// <c>"a\u0062"</c> are one value, and so are a JSON line's and a binary frame's spelling of one
/// type), numbers, booleans, objects and arrays by their raw JSON token (<c>1</c> and <c>1.0</c>
/// differ; the string <c>"1"</c> and the number <c>1</c> are the same text). An absent field and
/// a JSON <c>null</c> have no value. Binary frames have only <c>type</c> and <c>key</c>.
/// </remarks>
public sealed class FieldSelector
{
    /// <summary>Escaped values up to this many bytes are unescaped on the stack; longer ones (rare) are used raw.</summary>
    public const int ScratchBytes = 512;

    public FieldSelector(FieldSelectorKind kind, string name)
        : this(kind, name, Encoding.UTF8.GetBytes(name), -1)
    {
    }

    private FieldSelector(FieldSelectorKind kind, string name, byte[] nameUtf8, int index)
    {
        Kind = kind;
        Name = name;
        NameUtf8 = nameUtf8;
        Index = index;
    }

    /// <summary>The field's index in the catalog this selector was bound to (<see cref="In"/>), or -1:
    /// the line is then scanned for it.</summary>
    public int Index { get; }

    /// <summary>This selector bound to a ring's catalog: its value is read from the decoder's row.</summary>
    public FieldSelector In(FieldCatalog catalog) =>
        Kind == FieldSelectorKind.Field ? new FieldSelector(Kind, Name, NameUtf8, catalog.IndexOf(NameUtf8)) : this;

    public FieldSelectorKind Kind { get; }

    /// <summary>A selector from its config spelling: <c>type</c>, <c>key</c> or <c>.name</c> (validated by the config loader).</summary>
    public static FieldSelector Parse(string reference)
    {
        ArgumentException.ThrowIfNullOrEmpty(reference);
        return reference switch
        {
            "type" => new FieldSelector(FieldSelectorKind.Type, "type"),
            "key" => new FieldSelector(FieldSelectorKind.Key, "key"),
            _ when reference.Length > 1 && reference[0] == '.' => new FieldSelector(FieldSelectorKind.Field, reference[1..]),
            _ => throw new ArgumentException($"'{reference}' is not a field reference (type, key or .name)", nameof(reference)),
        };
    }

    /// <summary>The field's name without its dot (<c>type</c>, <c>key</c> for those kinds).</summary>
    public string Name { get; }

    public byte[] NameUtf8 { get; }

    public override string ToString() => Kind == FieldSelectorKind.Field ? "." + Name : Name;

    /// <summary>
    /// Finds the field's value: <paramref name="offset"/>/<paramref name="length"/> locate its bytes
    /// in the payload (a string's bytes between its quotes). False when absent or <c>null</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLocate(in EventView view, out int offset, out int length, out bool escaped)
    {
        switch (Kind)
        {
            case FieldSelectorKind.Type:
                offset = view.Slot.TypeOffset;
                length = view.Slot.TypeLength;
                escaped = view.TypeEscaped && !view.IsBinary;
                return view.HasType;
            case FieldSelectorKind.Key:
                offset = view.Slot.KeyOffset;
                length = view.Slot.KeyLength;
                escaped = view.KeyEscaped && !view.IsBinary;
                return view.HasKey;
            default:
                if (view.TryGetField(Index, NameUtf8, out JsonScalar scalar) && scalar.Kind != JsonScalarKind.Null)
                {
                    offset = scalar.Offset;
                    length = scalar.Length;
                    escaped = scalar.Escaped;
                    return true;
                }

                offset = 0;
                length = 0;
                escaped = false;
                return false;
        }
    }

    /// <summary>
    /// The value's identifying bytes (see remarks of <see cref="FieldSelector"/>): a slice of
    /// <paramref name="payload"/>, or of <paramref name="scratch"/> when escapes had to be resolved.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> Text(ReadOnlySpan<byte> payload, int offset, int length, bool escaped, Span<byte> scratch)
    {
        ReadOnlySpan<byte> raw = payload.Slice(offset, length);
        if (escaped && JsonString.TryUnescape(raw, scratch, out int written))
        {
            return scratch[..written];
        }

        return raw;
    }
}
