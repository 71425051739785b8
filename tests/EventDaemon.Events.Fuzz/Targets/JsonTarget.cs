using System.Text.Json;
using System.Text.Unicode;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Fields;

namespace EventDaemon.Events.Fuzz.Targets;

/// <summary>
/// One input = one line. Checks that the parser never throws, that everything it reports lies
/// inside the line, that it agrees with System.Text.Json about what is JSON, and that a stream's
/// <see cref="MemberOrder"/> changes nothing in the result.
/// </summary>
public static class JsonTarget
{
    public static void Run(ReadOnlySpan<byte> line)
    {
        var slot = default(EventSlot);
        bool ok = JsonEventParser.TryParse(line, ref slot, out InvalidReason reason);
        Check(ok == (reason == InvalidReason.None), $"ok={ok} but reason={reason}");
        Check((uint)reason < InvalidReasons.Count, $"undefined reason {reason}");

        bool utf8 = Utf8.IsValid(line);
        bool? stjObject = StjRootIsObject(line);
        if (ok)
        {
            CheckSlot(line, in slot);
            Check(utf8, "accepted a line that is not UTF-8");
            Check(JsonEventParser.IsValidJson(line), "accepted a line IsValidJson rejects");
            Check(stjObject == true, "accepted a line System.Text.Json does not read as one object");
            CheckFieldReader(line, in slot);
        }
        else if (utf8 && stjObject == true)
        {
            Check(reason is InvalidReason.BadTs or InvalidReason.BadType or InvalidReason.BadKey or InvalidReason.BadValue or InvalidReason.FieldTooLong,
                $"System.Text.Json reads one object but the parser says {reason.Label()}");
        }
        else if (utf8 && stjObject == false)
        {
            Check(reason == InvalidReason.NotObject, $"valid JSON non-object should be not_object, got {reason.Label()}");
        }
        else if (utf8 && stjObject is null)
        {
            Check(reason is InvalidReason.NotJson or InvalidReason.TrailingData or InvalidReason.TooDeep,
                $"System.Text.Json rejects the line but the reason is {reason.Label()}");
        }
        else
        {
            Check(reason == InvalidReason.InvalidUtf8, $"invalid UTF-8 should be invalid_utf8, got {reason.Label()}");
        }

        // The field reader must be safe on any input, valid or not.
        _ = JsonFieldReader.TryGetField(line, "type"u8, out JsonScalar any);
        if (any.Kind != JsonScalarKind.None)
        {
            Check(any.Offset >= 0 && any.Offset + any.Length <= line.Length, "field reader value outside the line");
        }

        CheckMemberOrder(line);
    }

    /// <summary>A stream's member order only shortens the decode: after a typical line and after
    /// the line itself trained it, the line decodes exactly as without it, slot and row.</summary>
    private static void CheckMemberOrder(ReadOnlySpan<byte> line)
    {
        FieldCatalog catalog = OrderCatalog;
        Span<byte> expectedRow = stackalloc byte[catalog.RowBytes];
        Span<byte> row = stackalloc byte[catalog.RowBytes];
        var expected = default(EventSlot);
        bool expectedOk = JsonEventParser.TryParse(line, ref expected, catalog, expectedRow, out InvalidReason expectedReason);

        var order = default(MemberOrder);
        var training = default(EventSlot);
        _ = JsonEventParser.TryParse(TrainingLine, ref training, catalog, row, ref order, out _);
        for (int pass = 0; pass < 2; pass++)
        {
            var slot = default(EventSlot);
            bool ok = JsonEventParser.TryParse(line, ref slot, catalog, row, ref order, out InvalidReason reason);
            Check(ok == expectedOk && reason == expectedReason, $"with a member order the verdict is {reason.Label()}, without {expectedReason.Label()} (pass {pass})");
            Check(!ok || (slot.Flags == expected.Flags && slot.Timestamp == expected.Timestamp
                && BitConverter.DoubleToInt64Bits(slot.Value) == BitConverter.DoubleToInt64Bits(expected.Value)
                && slot.TypeOffset == expected.TypeOffset && slot.TypeLength == expected.TypeLength
                && slot.KeyOffset == expected.KeyOffset && slot.KeyLength == expected.KeyLength && row.SequenceEqual(expectedRow)),
                $"with a member order the slot or row differs (pass {pass})");
        }
    }

    private static ReadOnlySpan<byte> TrainingLine => """{"ts":1764151200000000000,"type":"view","key":"user-0001","value":12.5,"region":"eu","msg":"hello"}"""u8;

    private static readonly FieldCatalog OrderCatalog = CreateOrderCatalog();

    private static FieldCatalog CreateOrderCatalog()
    {
        var builder = new FieldCatalog.Builder();
        builder.AddField("region");
        builder.AddField("msg");
        builder.AddField("typ");
        builder.AddKey([KeyPart.Type, KeyPart.Key]);
        return builder.Build();
    }

    private static void CheckSlot(ReadOnlySpan<byte> line, in EventSlot slot)
    {
        Check(slot.PayloadLength == line.Length, "PayloadLength is not the line length");
        Check((slot.Flags & EventFlags.Binary) == 0, "JSON event flagged binary");
        if ((slot.Flags & EventFlags.HasType) != 0)
        {
            CheckString(line, slot.TypeOffset, slot.TypeLength, (slot.Flags & EventFlags.TypeEscaped) != 0, "type");
        }

        if ((slot.Flags & EventFlags.HasKey) != 0)
        {
            CheckString(line, slot.KeyOffset, slot.KeyLength, (slot.Flags & EventFlags.KeyEscaped) != 0, "key");
        }

        if ((slot.Flags & EventFlags.HasValue) != 0)
        {
            Check(double.IsFinite(slot.Value), "non-finite value accepted");
        }
    }

    private static void CheckString(ReadOnlySpan<byte> line, int offset, int length, bool escaped, string what)
    {
        Check(offset >= 1 && offset + length < line.Length, $"{what} outside the line");
        Check(line[offset - 1] == (byte)'"' && line[offset + length] == (byte)'"', $"{what} is not between quotes");
        Check(escaped == (line.Slice(offset, length).IndexOf((byte)'\\') >= 0), $"{what} escape flag wrong");
        Span<byte> buffer = length <= 1024 ? stackalloc byte[1024] : new byte[length];
        Check(JsonString.TryUnescape(line.Slice(offset, length), buffer, out int written), $"{what} does not unescape");
        Check(JsonString.EqualsUnescaped(line.Slice(offset, length), escaped, buffer[..written]), $"{what} is not equal to its own unescaping");
    }

    private static void CheckFieldReader(ReadOnlySpan<byte> line, in EventSlot slot)
    {
        bool found = JsonFieldReader.TryGetField(line, "type"u8, out JsonScalar type);
        if ((slot.Flags & EventFlags.HasType) != 0)
        {
            Check(found && type.Kind == JsonScalarKind.String && type.Offset == slot.TypeOffset && type.Length == slot.TypeLength,
                "field reader and parser disagree on type");
        }

        found = JsonFieldReader.TryGetField(line, "value"u8, out JsonScalar value);
        if ((slot.Flags & EventFlags.HasValue) != 0)
        {
            Check(found && value.Kind == JsonScalarKind.Number && BitConverter.DoubleToInt64Bits(value.GetDouble(line)) == BitConverter.DoubleToInt64Bits(slot.Value),
                "field reader and parser disagree on value");
        }
    }

    /// <summary>True: one object; false: valid JSON of another kind; null: System.Text.Json rejects it.</summary>
    private static bool? StjRootIsObject(ReadOnlySpan<byte> line)
    {
        var reader = new Utf8JsonReader(line, new JsonReaderOptions { MaxDepth = JsonEventParser.MaxDepth });
        try
        {
            if (!reader.Read())
            {
                return null;
            }

            bool isObject = reader.TokenType == JsonTokenType.StartObject;
            reader.Skip();
            return reader.Read() ? null : isObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    internal static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new FuzzInvariantException(message);
        }
    }
}
