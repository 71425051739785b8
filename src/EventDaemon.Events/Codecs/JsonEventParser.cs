using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text.Unicode;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs.Internal;
using EventDaemon.Events.Fields;

namespace EventDaemon.Events.Codecs;

/// <summary>
/// Decodes one JSON line (without its newline) into an <see cref="EventSlot"/>: validates that the
/// whole line is exactly one JSON object and extracts the well-known fields, without allocating.
/// </summary>
/// <remarks>
/// <para>Validation is strict RFC 8259: valid UTF-8, no control characters or bad escapes in strings,
/// numbers in JSON grammar, nested objects/arrays in any field validated down to
/// <see cref="MaxDepth"/> levels (the line's own object counts as one), nothing but whitespace
/// after the object.</para>
/// <para>Well-known fields: <c>ts</c> is a JSON integer of Unix nanoseconds that fits in a signed
/// 64-bit integer (no fraction or exponent), or an RFC 3339 string (<see cref="Rfc3339"/>);
/// <c>type</c> and <c>key</c> are strings of at most 65535 raw (still escaped) bytes; <c>value</c>
/// is a JSON number whose double is finite (<c>1e400</c> is <see cref="InvalidReason.BadValue"/>).
/// <c>null</c> is not accepted for any of them. Names are matched after unescaping.</para>
/// <para>Duplicate names: the last occurrence wins, as in <c>JSON.parse</c> and
/// <c>JsonElement.GetProperty</c>; an earlier occurrence neither sets a field nor makes the line
/// invalid. When the line is not valid JSON that reason wins over a field's reason; among field
/// reasons the order is ts, type, key, value.</para>
/// <para>On success the decoder writes the fields it owns: <see cref="EventSlot.Flags"/> (replaced),
/// <see cref="EventSlot.Timestamp"/> (0 when absent: the source then stores the ingest time),
/// <see cref="EventSlot.Value"/>, type/key offsets (relative to the line start) and lengths,
/// <see cref="EventSlot.PayloadLength"/> and <see cref="EventSlot.Aux"/> (0). It leaves
/// <c>IngestNanos</c>, <c>PayloadPosition</c>, <c>SourceId</c> and <c>Marks</c> to the source. On
/// failure the slot is left as it was.</para>
/// <para>Hand-written rather than built on <c>Utf8JsonReader</c> (also allocation-free): for this job
/// (validate everything, extract four top-level fields) the reader measured about 3× slower in
/// perf/EventDaemon.Perf.Codec. Strings are scanned 16 bytes per compare, UTF-8 is validated only
/// where non-ASCII bytes occur (inside strings), and integers are read eight digits at a time.
/// A member name is found and looked up from one 16-byte load: the catalog's
/// <see cref="MemberNameTable"/> says at once whether it is well-known and which catalog field it
/// is.</para>
/// </remarks>
[SkipLocalsInit]
public static class JsonEventParser
{
    /// <summary>Deepest nesting of objects/arrays accepted (matches System.Text.Json's default).</summary>
    public const int MaxDepth = 64;

    /// <summary>Longest <c>type</c>/<c>key</c> in raw bytes: the slot stores their lengths as 16 bits.</summary>
    public const int MaxFieldBytes = ushort.MaxValue;

    private const int NotJson = -1;
    private const int TooDeep = -2;
    private const int InvalidUtf8 = -3;

    private enum FieldState : byte
    {
        Absent = 0,
        Ok,
        Bad,
        TooLong,
    }

    public static bool TryParse(ReadOnlySpan<byte> line, ref EventSlot slot, out InvalidReason reason) =>
        TryParse(line, ref slot, FieldCatalog.Empty, default, out reason);

    /// <summary>
    /// Decodes one line as above and, in the same pass, fills <paramref name="row"/> (of
    /// <see cref="FieldCatalog.RowBytes"/>) for <paramref name="catalog"/>: where each named field's
    /// value lies (numbers located, never converted) and each key's hash. On failure the row's
    /// contents are undefined.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> line, ref EventSlot slot, FieldCatalog catalog, Span<byte> row, out InvalidReason reason)
    {
        var none = default(NoMemberOrder);
        return Parse(line, ref slot, catalog, row, ref none, out reason);
    }

    /// <summary>
    /// As <see cref="TryParse(ReadOnlySpan{byte}, ref EventSlot, FieldCatalog, Span{byte}, out InvalidReason)"/>,
    /// for one reader of a stream: member names where <paramref name="order"/> expects them are
    /// settled by one compare, and <paramref name="order"/> learns the names that were not. The
    /// result is exactly that of the decode without it.
    /// </summary>
    /// <remarks>
    /// Only a catalog with names of its own is predicted: its names are looked up in the
    /// <see cref="MemberNameTable"/> (a multiply, a table load, a compare) and the prediction saves
    /// that and the quote search. Without them a name is only compared against the four
    /// well-known ones, about as cheap as the prediction's compare (perf/EventDaemon.Perf.Codec's
    /// by-type rows showed no gain), so those lines take the unpredicted decode and leave the order as it was.
    /// </remarks>
    public static bool TryParse(ReadOnlySpan<byte> line, ref EventSlot slot, FieldCatalog catalog, Span<byte> row, ref MemberOrder order, out InvalidReason reason)
    {
        if (!catalog.Members.HasCatalogNames)
        {
            var none = default(NoMemberOrder);
            return Parse(line, ref slot, catalog, row, ref none, out reason);
        }

        return Parse(line, ref slot, catalog, row, ref order, out reason);
    }

    private static bool Parse<TOrder>(ReadOnlySpan<byte> line, ref EventSlot slot, FieldCatalog catalog, Span<byte> row, ref TOrder order, out InvalidReason reason)
        where TOrder : struct, IMemberOrder
    {
        Span<FieldRef> fields = catalog.FieldCount == 0 ? default : catalog.Fields(row);

        // A row holds a few fields: 8-byte stores in a loop cost less than the call to memset.
        for (int f = 0; f < fields.Length; f++)
        {
            fields[f] = default;
        }

        MemberNameTable members = catalog.Members;
        order.Use(members);
        // UTF-8 is validated inside strings as they are scanned (outside strings only ASCII is
        // legal); a syntax error re-checks the whole line so invalid UTF-8 anywhere still reads
        // as invalid_utf8.
        ReadOnlySpan<byte> s = line;
        int i = SkipWhitespace(s, 0);
        if (i >= s.Length)
        {
            reason = InvalidReason.NotJson;
            return false;
        }

        if (s[i] != (byte)'{')
        {
            reason = ClassifyNonObject(s, i);
            return false;
        }

        FieldState tsState = FieldState.Absent, typeState = FieldState.Absent, keyState = FieldState.Absent, valueState = FieldState.Absent;
        long ts = 0;
        double value = 0;
        int typeOffset = 0, typeLength = 0, keyOffset = 0, keyLength = 0;
        bool typeEscaped = false, keyEscaped = false;

        i = SkipWhitespace(s, i + 1);
        if (i < s.Length && s[i] == (byte)'}')
        {
            i++;
        }
        else
        {
            // The member's position in the object: what the order's predictions are kept by.
            int position = 0;
            while (true)
            {
                if (i >= s.Length || s[i] != (byte)'"')
                {
                    return Fail(s, NotJson, out reason);
                }

                int keyEnd = ScanName(s, i + 1, members, ref order, position++, out int match);
                if (keyEnd < 0)
                {
                    return Fail(s, NotJson, out reason);
                }

                // Compact JSON (what senders write) has the value right after the colon: every
                // value starts with a byte above space, so one test skips both whitespace loops.
                if (keyEnd + 2 < s.Length && s[keyEnd + 1] == (byte)':' && s[keyEnd + 2] > (byte)' ')
                {
                    i = keyEnd + 2;
                }
                else
                {
                    i = SkipWhitespace(s, keyEnd + 1);
                    if (i >= s.Length || s[i] != (byte)':')
                    {
                        return Fail(s, NotJson, out reason);
                    }

                    i = SkipWhitespace(s, i + 1);
                    if (i >= s.Length)
                    {
                        return Fail(s, NotJson, out reason);
                    }
                }

                byte c = s[i];
                int end;
                if (match == 0)
                {
                    // Most members are neither well-known nor read by a stage: validate and move on.
                    end = SkipMemberValue(s, i, c);
                }
                else
                {
                    end = 0;
                    int named = (match >> 8) - 1;
                    if (named >= 0)
                    {
                        // A field some stage reads: locate it now (last occurrence wins, as below).
                        // Strings, the usual case, inline; other kinds through Locate.
                        if (c == (byte)'"')
                        {
                            end = ScanString(s, i + 1, out bool escaped);
                            if (end >= 0)
                            {
                                fields[named] = new FieldRef(JsonScalarKind.String, i + 1, end - i - 1, escaped, integer: false);
                                end++;
                            }
                        }
                        else
                        {
                            end = Locate(s, i, c, out fields[named]);
                        }
                    }

                    var field = (WellKnownField)(byte)match;
                    if (field != WellKnownField.Other && end >= 0)
                    {
                        // `.type` and friends are also the well-known fields: decode those too. One
                        // call site, so the inlined decoder appears once in this method.
                        end = DecodeWellKnown(s, i, c, field, ref tsState, ref ts, ref typeState, ref typeOffset, ref typeLength, ref typeEscaped,
                            ref keyState, ref keyOffset, ref keyLength, ref keyEscaped, ref valueState, ref value);
                    }
                }

                if (end < 0)
                {
                    return Fail(s, end, out reason);
                }

                // Compact JSON again: `,"` goes straight to the next name.
                if (end + 1 < s.Length && s[end] == (byte)',' && s[end + 1] == (byte)'"')
                {
                    i = end + 1;
                    continue;
                }

                i = SkipWhitespace(s, end);
                if (i >= s.Length)
                {
                    return Fail(s, NotJson, out reason);
                }

                if (s[i] == (byte)',')
                {
                    i = SkipWhitespace(s, i + 1);
                    continue;
                }

                if (s[i] == (byte)'}')
                {
                    i++;
                    break;
                }

                return Fail(s, NotJson, out reason);
            }
        }

        if (SkipWhitespace(s, i) != s.Length)
        {
            // A NUL byte is not_json wherever it is (PROTOCOL.md), also after a complete object.
            reason = !Utf8.IsValid(s) ? InvalidReason.InvalidUtf8
                : s[i..].Contains((byte)0) ? InvalidReason.NotJson
                : InvalidReason.TrailingData;
            return false;
        }

        if (tsState == FieldState.Bad)
        {
            reason = InvalidReason.BadTs;
            return false;
        }

        if (typeState != FieldState.Absent && typeState != FieldState.Ok)
        {
            reason = typeState == FieldState.TooLong ? InvalidReason.FieldTooLong : InvalidReason.BadType;
            return false;
        }

        if (keyState != FieldState.Absent && keyState != FieldState.Ok)
        {
            reason = keyState == FieldState.TooLong ? InvalidReason.FieldTooLong : InvalidReason.BadKey;
            return false;
        }

        if (valueState == FieldState.Bad)
        {
            reason = InvalidReason.BadValue;
            return false;
        }

        EventFlags flags = EventFlags.None;
        if (tsState == FieldState.Ok)
        {
            flags |= EventFlags.HasTimestamp;
        }

        if (typeState == FieldState.Ok)
        {
            flags |= typeEscaped ? EventFlags.HasType | EventFlags.TypeEscaped : EventFlags.HasType;
        }

        if (keyState == FieldState.Ok)
        {
            flags |= keyEscaped ? EventFlags.HasKey | EventFlags.KeyEscaped : EventFlags.HasKey;
        }

        if (valueState == FieldState.Ok)
        {
            flags |= EventFlags.HasValue;
        }

        slot.Flags = flags;
        slot.Timestamp = ts;
        slot.Value = value;
        slot.TypeOffset = typeOffset;
        slot.TypeLength = (ushort)typeLength;
        slot.KeyOffset = keyOffset;
        slot.KeyLength = (ushort)keyLength;
        slot.PayloadLength = line.Length;
        slot.Aux = 0;
        if (catalog.KeyCount != 0)
        {
            FieldIndexer.HashKeys(in slot, line, catalog, row);
        }

        reason = InvalidReason.None;
        return true;
    }

    /// <summary>Validates the member value at <paramref name="i"/> and records where it lies.</summary>
    /// <returns>The index past the value, or a negative error code.</returns>
    private static int Locate(ReadOnlySpan<byte> s, int i, byte c, out FieldRef field)
    {
        field = default;
        int end;
        switch (c)
        {
            case (byte)'"':
                end = ScanString(s, i + 1, out bool escaped);
                if (end < 0)
                {
                    return end;
                }

                field = new FieldRef(JsonScalarKind.String, i + 1, end - i - 1, escaped, integer: false);
                return end + 1;
            case (byte)'{':
            case (byte)'[':
                end = SkipValue(s, i, 1);
                if (end >= 0)
                {
                    field = new FieldRef(c == (byte)'{' ? JsonScalarKind.Object : JsonScalarKind.Array, i, end - i, escaped: false, integer: false);
                }

                return end;
            case (byte)'t':
            case (byte)'f':
            case (byte)'n':
                end = SkipValue(s, i, 1);
                if (end >= 0)
                {
                    var kind = c == (byte)'t' ? JsonScalarKind.True : c == (byte)'f' ? JsonScalarKind.False : JsonScalarKind.Null;
                    field = new FieldRef(kind, i, end - i, escaped: false, integer: false);
                }

                return end;
            default:
                if (c == (byte)'-' || c - (uint)'0' <= 9)
                {
                    // Located, not converted: the stage that compares it converts it, exactly.
                    end = JsonNumber.Skip(s, i, out bool integer);
                    if (end >= 0)
                    {
                        field = new FieldRef(JsonScalarKind.Number, i, end - i, escaped: false, integer);
                    }

                    return end < 0 ? NotJson : end;
                }

                return NotJson;
        }
    }

    /// <summary>Decodes the value of a well-known member (ts, type, key, value) into its state.</summary>
    /// <returns>The index past the value, or a negative error code.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int DecodeWellKnown(ReadOnlySpan<byte> s, int i, byte c, WellKnownField field,
        ref FieldState tsState, ref long ts,
        ref FieldState typeState, ref int typeOffset, ref int typeLength, ref bool typeEscaped,
        ref FieldState keyState, ref int keyOffset, ref int keyLength, ref bool keyEscaped,
        ref FieldState valueState, ref double value)
    {
        int end;
        switch (field)
        {
            case WellKnownField.Ts:
                if (c == (byte)'"')
                {
                    end = ScanString(s, i + 1, out bool tsEscaped);
                    if (end < 0)
                    {
                        return NotJson;
                    }

                    tsState = ParseTsString(s[(i + 1)..end], tsEscaped, out ts) ? FieldState.Ok : FieldState.Bad;
                    end++;
                }
                else if (c == (byte)'-' || c - (uint)'0' <= 9)
                {
                    end = JsonNumber.ScanInt64(s, i, out ts, out bool isInt64);
                    tsState = isInt64 ? FieldState.Ok : FieldState.Bad;
                }
                else
                {
                    end = SkipValue(s, i, 1);
                    tsState = FieldState.Bad;
                }

                break;

            case WellKnownField.Type:
            case WellKnownField.Key:
                {
                    FieldState state;
                    int offset = 0, length = 0;
                    bool escaped = false;
                    if (c == (byte)'"')
                    {
                        end = ScanString(s, i + 1, out escaped);
                        if (end < 0)
                        {
                            return NotJson;
                        }

                        offset = i + 1;
                        length = end - offset;
                        state = length <= MaxFieldBytes ? FieldState.Ok : FieldState.TooLong;
                        end++;
                    }
                    else
                    {
                        end = SkipValue(s, i, 1);
                        state = FieldState.Bad;
                    }

                    if (field == WellKnownField.Type)
                    {
                        typeState = state;
                        typeOffset = offset;
                        typeLength = length;
                        typeEscaped = escaped;
                    }
                    else
                    {
                        keyState = state;
                        keyOffset = offset;
                        keyLength = length;
                        keyEscaped = escaped;
                    }

                    break;
                }

            case WellKnownField.Value:
                if (c == (byte)'-' || c - (uint)'0' <= 9)
                {
                    end = JsonNumber.Scan(s, i, out value, out _);

                    valueState = double.IsFinite(value) ? FieldState.Ok : FieldState.Bad;
                }
                else
                {
                    end = SkipValue(s, i, 1);
                    valueState = FieldState.Bad;
                }

                break;

            default:
                end = SkipMemberValue(s, i, c);
                break;
        }

        return end;
    }

    /// <summary>Validates <paramref name="line"/> as exactly one JSON value of any kind (used by tests and tools).</summary>
    public static bool IsValidJson(ReadOnlySpan<byte> line)
    {
        int i = SkipWhitespace(line, 0);
        int end = SkipValue(line, i, 0);
        return end >= 0 && SkipWhitespace(line, end) == line.Length;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool Fail(ReadOnlySpan<byte> line, int code, out InvalidReason reason)
    {
        reason = code == InvalidUtf8 || !Utf8.IsValid(line) ? InvalidReason.InvalidUtf8
            : code == TooDeep ? InvalidReason.TooDeep
            : InvalidReason.NotJson;
        return false;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static InvalidReason ClassifyNonObject(ReadOnlySpan<byte> s, int i)
    {
        if (!Utf8.IsValid(s))
        {
            return InvalidReason.InvalidUtf8;
        }

        int end = SkipValue(s, i, 0);
        if (end == TooDeep)
        {
            return InvalidReason.TooDeep;
        }

        return end >= 0 && SkipWhitespace(s, end) == s.Length ? InvalidReason.NotObject : InvalidReason.NotJson;
    }

    /// <summary>
    /// Scans the member name whose content starts at <paramref name="start"/> and looks it up in
    /// <paramref name="members"/>. Returns the index of its closing quote (or a negative code) and
    /// the name's match (<see cref="MemberNameTable"/>).
    /// </summary>
    /// <remarks>
    /// A plain name that ends within 16 bytes (nearly all of them) is settled from one 16-byte
    /// load: if it is the name <paramref name="order"/> remembers at <paramref name="position"/>,
    /// one compare gives its length and match; if not, the quote mask gives its length, the same
    /// vector is the table's key, and the order learns it. A name in the line's last 16 bytes is
    /// loaded the same way from those bytes. Names that are escaped, non-ASCII or longer take the
    /// general scan and <see cref="MemberNameTable.FindSlow"/>.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ScanName<TOrder>(ReadOnlySpan<byte> s, int start, MemberNameTable members, ref TOrder order, int position, out int match)
        where TOrder : struct, IMemberOrder
    {
        // start <= s.Length: it follows a quote of the line. A name starting at the very end has no
        // bytes to load and is left to the general scan (which fails it).
        if (Vector128.IsHardwareAccelerated && s.Length >= Vector128<byte>.Count && start < s.Length)
        {
            Vector128<byte> v = start + Vector128<byte>.Count <= s.Length
                ? Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(s), (nuint)start)
                : LoadTail(s, start);

            // Equal to a name (plus quote) the scan below found before proves the scan's answer.
            if (order.TryPredict(position, v, out int length, out match))
            {
                return start + length;
            }

            uint quotes = Vector128.Equals(v, Vector128.Create((byte)'"')).ExtractMostSignificantBits();
            uint others = (Vector128.Equals(v, Vector128.Create((byte)'\\'))
                | Vector128.LessThan(v.AsSByte(), Vector128.Create((sbyte)0x20)).AsByte()).ExtractMostSignificantBits();

            // quotes - 1 sets exactly the bits below the first quote: none of them may be another
            // stop. The zeros past the line's end are stops (below 0x20) but never a quote.
            if (quotes != 0 && (others & (quotes - 1)) == 0)
            {
                length = BitOperations.TrailingZeroCount(quotes);
                match = members.HasCatalogNames ? members.Find(v, length) : MemberNameTable.WellKnown(v, length);
                if (match < 0)
                {
                    match = members.FindSlow(s.Slice(start, length), escaped: false);
                }

                order.Learn(position, v, length, match);
                return start + length;
            }
        }

        return ScanNameGeneral(s, start, members, out match);
    }

    /// <summary>
    /// The 16 bytes from <paramref name="start"/> (within the line's last 16) to the line's end,
    /// followed by zeros: the line's last 16 bytes shifted down, the way a load at
    /// <paramref name="start"/> would read them if the line went on with NULs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> LoadTail(ReadOnlySpan<byte> s, int start)
    {
        int at = s.Length - Vector128<byte>.Count;
        int shift = start - at; // 1–15
        Vector128<byte> v = Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(s), (nuint)at);

        // Shifted as two words: a variable byte shuffle is a call, not an instruction, on the
        // baseline x64 the daemon is compiled for.
        ulong low = v.AsUInt64().ToScalar(), high = v.AsUInt64().GetElement(1);
        if (shift >= 8)
        {
            low = high;
            high = 0;
            shift -= 8;
        }

        // (x << 1) << (63 - b) is x << (64 - b) that also gives 0 for b = 0.
        int bits = shift * 8;
        return Vector128.Create((low >> bits) | ((high << 1) << (63 - bits)), high >> bits).AsByte();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int ScanNameGeneral(ReadOnlySpan<byte> s, int start, MemberNameTable members, out int match)
    {
        int end = ScanString(s, start, out bool escaped);
        match = end < 0 ? 0 : members.FindSlow(s[start..end], escaped);
        return end;
    }

    private static bool ParseTsString(ReadOnlySpan<byte> raw, bool escaped, out long ts)
    {
        if (!escaped)
        {
            return Rfc3339.TryParseUnixNanos(raw, out ts);
        }

        return ParseEscapedTsString(raw, out ts);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool ParseEscapedTsString(ReadOnlySpan<byte> raw, out long ts)
    {
        // A timestamp is ~35 bytes; escapes or a long fraction can make it longer, and then a
        // pooled buffer (no allocation once the pool is warm) keeps the rule "any fraction length".
        const int StackLimit = 256;
        ts = 0;
        if (raw.Length <= StackLimit)
        {
            Span<byte> buffer = stackalloc byte[StackLimit];
            return JsonString.TryUnescape(raw, buffer, out int written) && Rfc3339.TryParseUnixNanos(buffer[..written], out ts);
        }

        byte[] rented = ArrayPool<byte>.Shared.Rent(raw.Length);
        try
        {
            return JsonString.TryUnescape(raw, rented, out int written) && Rfc3339.TryParseUnixNanos(rented.AsSpan(0, written), out ts);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Scans a string whose content starts at <paramref name="start"/>, validating escapes and the
    /// absence of control characters. Returns the index of the closing quote or -1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ScanString(ReadOnlySpan<byte> s, int start, out bool escaped)
    {
        escaped = false;
        int end = StringScanner.IndexOfPlainEnd(s, start);
        return end >= 0 ? end : ScanStringGeneral(s, start, out escaped);
    }

    /// <summary>As <see cref="ScanString"/>, for strings that are long, escaped, non-ASCII or invalid.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int ScanStringGeneral(ReadOnlySpan<byte> s, int start, out bool escaped)
    {
        escaped = false;
        int i = start;
        while (true)
        {
            i = StringScanner.IndexOfStop(s, i);
            if (i < 0)
            {
                return -1;
            }

            byte c = s[i];
            if (c == (byte)'"')
            {
                return i;
            }

            if (c >= 0x80)
            {
                i = SkipUtf8(s, i);
                if (i < 0)
                {
                    return InvalidUtf8;
                }

                continue;
            }

            if (c != (byte)'\\')
            {
                return -1;
            }

            escaped = true;
            i = SkipEscape(s, i);
            if (i < 0)
            {
                return -1;
            }
        }
    }

    /// <summary>Skips the run of non-ASCII bytes at <paramref name="at"/> if it is valid UTF-8; -1 if not.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int SkipUtf8(ReadOnlySpan<byte> s, int at)
    {
        int end = at + 1;
        while (end < s.Length && s[end] >= 0x80)
        {
            end++;
        }

        return Utf8.IsValid(s[at..end]) ? end : -1;
    }

    private static int SkipEscape(ReadOnlySpan<byte> s, int at)
    {
        if (at + 1 >= s.Length)
        {
            return -1;
        }

        switch (s[at + 1])
        {
            case (byte)'"':
            case (byte)'\\':
            case (byte)'/':
            case (byte)'b':
            case (byte)'f':
            case (byte)'n':
            case (byte)'r':
            case (byte)'t':
                return at + 2;
            case (byte)'u':
                return JsonUnescaper.TryHex4(s, at + 2, out _) ? at + 6 : -1;
            default:
                return -1;
        }
    }

    /// <summary>
    /// Validates one JSON value at <paramref name="i"/> nested inside <paramref name="depth"/> open
    /// containers. Returns the index past it, <see cref="NotJson"/> or <see cref="TooDeep"/>.
    /// Iterative, with the kinds of the open containers kept in a 64-bit stack (MaxDepth ≤ 64).
    /// </summary>
    private static int SkipValue(ReadOnlySpan<byte> s, int i, int depth)
    {
        ulong objectBits = 0;
        int level = 0;
        while (true)
        {
            if (i >= s.Length)
            {
                return NotJson;
            }

            // Most common first: strings, then numbers; containers and literals after.
            byte c = s[i];
            if (c == (byte)'"')
            {
                i = ScanString(s, i + 1, out _);
                if (i < 0)
                {
                    return NotJson;
                }

                i++;
            }
            else if (c == (byte)'-' || c - (uint)'0' <= 9)
            {
                i = JsonNumber.Skip(s, i, out _);
                if (i < 0)
                {
                    return NotJson;
                }
            }
            else if (c == (byte)'{' || c == (byte)'[')
            {
                if (depth + level + 1 > MaxDepth)
                {
                    return TooDeep;
                }

                bool isObject = c == (byte)'{';
                if (isObject)
                {
                    objectBits |= 1UL << level;
                }
                else
                {
                    objectBits &= ~(1UL << level);
                }

                level++;
                i = SkipWhitespace(s, i + 1);
                if (i >= s.Length)
                {
                    return NotJson;
                }

                if (s[i] == (isObject ? (byte)'}' : (byte)']'))
                {
                    i++;
                    level--;
                    goto AfterValue;
                }

                if (isObject)
                {
                    i = SkipMemberName(s, i);
                    if (i < 0)
                    {
                        return NotJson;
                    }
                }

                continue;
            }
            else
            {
                ReadOnlySpan<byte> literal = c == (byte)'t' ? "true"u8 : c == (byte)'f' ? "false"u8 : "null"u8;
                if (!s[i..].StartsWith(literal))
                {
                    return NotJson;
                }

                i += literal.Length;
            }

        AfterValue:
            if (level == 0)
            {
                return i;
            }

            i = SkipWhitespace(s, i);
            if (i >= s.Length)
            {
                return NotJson;
            }

            bool inObject = (objectBits & (1UL << (level - 1))) != 0;
            if (s[i] == (byte)',')
            {
                i = SkipWhitespace(s, i + 1);
                if (inObject)
                {
                    i = SkipMemberName(s, i);
                    if (i < 0)
                    {
                        return NotJson;
                    }
                }

                continue;
            }

            if (s[i] == (inObject ? (byte)'}' : (byte)']'))
            {
                i++;
                level--;
                goto AfterValue;
            }

            return NotJson;
        }
    }

    /// <summary>Validates the value of a member of the line's object; scalars inline, containers through <see cref="SkipValue"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SkipMemberValue(ReadOnlySpan<byte> s, int i, byte c)
    {
        if (c == (byte)'"')
        {
            int end = ScanString(s, i + 1, out _);
            return end < 0 ? NotJson : end + 1;
        }

        if (c == (byte)'-' || c - (uint)'0' <= 9)
        {
            return JsonNumber.Skip(s, i, out _);
        }

        return SkipValue(s, i, 1);
    }

    /// <summary>Skips <c>"name" :</c> and following whitespace; returns the index of the value or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SkipMemberName(ReadOnlySpan<byte> s, int i)
    {
        if (i >= s.Length || s[i] != (byte)'"')
        {
            return -1;
        }

        int end = ScanString(s, i + 1, out _);
        if (end < 0)
        {
            return -1;
        }

        i = SkipWhitespace(s, end + 1);
        if (i >= s.Length || s[i] != (byte)':')
        {
            return -1;
        }

        return SkipWhitespace(s, i + 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SkipWhitespace(ReadOnlySpan<byte> s, int i)
    {
        while ((uint)i < (uint)s.Length)
        {
            byte c = s[i];
            if (c > (byte)' ' || (c != (byte)' ' && c != (byte)'\t' && c != (byte)'\n' && c != (byte)'\r'))
            {
                break;
            }

            i++;
        }

        return i;
    }
}
