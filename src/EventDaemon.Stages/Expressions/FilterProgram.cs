using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EventDaemon.Events;
using EventDaemon.Events.Fields;
using EventDaemon.Stages.Expressions.Internal;

namespace EventDaemon.Stages.Expressions;

/// <summary>
/// A compiled filter condition (SPEC §3, <c>filter</c> and <c>route</c>): parsed and type-checked
/// once at config load, then evaluated per event without allocating. The language is described
/// in <c>EXPRESSIONS.md</c> next to this file.
/// </summary>
/// <remarks>
/// <para>
/// The compiled form is a flat array of tests. Each test (a comparison, an <c>in</c>, a call)
/// names the test to run next when it is true and when it is false, so <c>&amp;&amp;</c>,
/// <c>||</c> and <c>!</c> cost nothing at run time and <see cref="Evaluate"/> is a loop over an
/// array: no tree, no virtual dispatch, no recursion, no stack.
/// </para>
/// <para>
/// Values of different types never compare true, and neither do missing operands: both
/// <c>value == "x"</c> and <c>value != "x"</c> are false, as are <c>.absent == 1</c> and
/// <c>.absent != 1</c>. So <c>a != b</c> means "same type and different", and is not the same as
/// <c>!(a == b)</c>, which is also true across types and for missing fields.
/// </para>
/// <para>An instance holds no per-event state; any number of threads may evaluate it at once.</para>
/// </remarks>
public sealed class FilterProgram
{
    // Field lookups are cached per evaluation (a field tested twice is scanned once) for the first
    // this many distinct fields; the cache is a stack buffer and a bit mask, 16 × 24 bytes.
    private const int CachedFields = 16;

    private readonly Instruction[] _code;
    private readonly int _entry;
    private readonly LiteralValue[] _literals;
    private readonly byte[][] _fieldNames;
    private readonly InList[] _lists;

    // Per field name, its index in the catalog the program was bound to (BindTo); -1 = scan the line.
    private readonly int[] _fieldSlots;

    // Every field is in the catalog (or there are none): on an indexed event each lookup is one
    // 8-byte read of the row, so the program runs its prepared steps with no per-evaluation cache
    // (a cache would only store the same 8 bytes again).
    private readonly bool _allBound;

    private readonly bool _noFields;

    // The code prepared for the row path: the common shapes resolved to their literal and field.
    private readonly Step[] _steps;

    internal FilterProgram(string source, string canonical, Instruction[] code, int entry, LiteralValue[] literals, byte[][] fieldNames, InList[] lists)
    {
        Source = source;
        Canonical = canonical;
        _code = code;
        _entry = entry;
        _literals = literals;
        _fieldNames = fieldNames;
        _lists = lists;
        _fieldSlots = Array.ConvertAll(fieldNames, _ => -1);
        _noFields = fieldNames.Length == 0;
        _allBound = _noFields;
        _steps = Prepare(code, literals, _fieldSlots);
    }

    private FilterProgram(FilterProgram unbound, int[] fieldSlots)
        : this(unbound.Source, unbound.Canonical, unbound._code, unbound._entry, unbound._literals, unbound._fieldNames, unbound._lists)
    {
        _fieldSlots = fieldSlots;
        _allBound = Array.TrueForAll(fieldSlots, slot => slot >= 0);
        _steps = Prepare(_code, _literals, fieldSlots);
    }

    /// <summary>The <c>.fields</c> the condition reads, without their dots (for the ring's catalog).</summary>
    public IEnumerable<string> FieldNames => _fieldNames.Select(n => System.Text.Encoding.UTF8.GetString(n));

    /// <summary>
    /// The same program reading its fields from the decoder's row of <paramref name="catalog"/>
    /// instead of scanning the line; fields the catalog lacks are still scanned for.
    /// </summary>
    public FilterProgram BindTo(FieldCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new FilterProgram(this, Array.ConvertAll(_fieldNames, n => catalog.IndexOf(n)));
    }

    /// <summary>The expression text this program was compiled from.</summary>
    public string Source { get; }

    /// <summary>
    /// The expression as parsed, with every <c>&amp;&amp;</c>/<c>||</c> group and every <c>!</c>
    /// operand in parentheses: shows how precedence grouped it (for <c>ctl</c> output and tests).
    /// </summary>
    public string Canonical { get; }

    /// <summary>Number of tests in the compiled form (constant conditions compile to none).</summary>
    public int InstructionCount => _code.Length;

    /// <summary>
    /// Compiles <paramref name="text"/>. On failure <paramref name="error"/> holds the first error,
    /// positioned by line and column within <paramref name="text"/>.
    /// </summary>
    public static bool TryCompile(string text, [NotNullWhen(true)] out FilterProgram? program, out ExpressionError error)
    {
        ArgumentNullException.ThrowIfNull(text);
        try
        {
            SyntaxNode root = Parser.Parse(text);
            program = ProgramBuilder.Build(text, root);
            error = default;
            return true;
        }
        catch (CompileException e)
        {
            (int line, int column) = TextPosition.Of(text, e.Offset);
            program = null;
            error = new ExpressionError(e.Code, e.Message, line, column, e.Offset);
            return false;
        }
    }

    /// <summary>Whether the event satisfies the condition. Does not allocate and does not throw for any event.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Evaluate(in EventView ev) => _allBound && (_noFields || ev.IsIndexed) ? RunRow(in ev) : RunScanning(in ev);

    public override string ToString() => Source;

    /// <summary>
    /// Every field the condition reads is in the event's row (or there are none): the prepared
    /// steps, one switch and a compare each.
    /// </summary>
    /// <remarks>No zeroed frame: the located fields are written before they are read. Inlined
    /// into the stage's handler: the loop is short, and a call would cost as much as a step.</remarks>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool RunRow(in EventView ev)
    {
        Step[] steps = _steps;
        int pc = _entry;
        while ((uint)pc < (uint)steps.Length)
        {
            ref readonly Step step = ref steps[pc];
            pc = Check(in step, in ev) ? step.OnTrue : step.OnFalse;
        }

        return pc == Instruction.Accept;
    }

    /// <summary>The general path: fields looked up by name (scanning the line) once each, through a cache on the stack.</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool RunScanning(in EventView ev)
    {
        var fields = _allBound && ev.IsIndexed
            ? new FieldCache(default)
            : new FieldCache(stackalloc JsonScalar[Math.Min(_fieldNames.Length, CachedFields)]);
        Instruction[] code = _code;
        int pc = _entry;
        while (pc >= 0)
        {
            ref readonly Instruction ins = ref code[pc];
            pc = Test(in ins, in ev, ref fields) ? ins.OnTrue : ins.OnFalse;
        }

        return pc == Instruction.Accept;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Check(ref readonly Step step, in EventView ev)
    {
        switch (step.Kind)
        {
            case StepKind.TypeString:
                {
                    ref readonly EventSlot slot = ref ev.Slot;
                    return (slot.Flags & EventFlags.HasType) != 0
                        && StringMatches(ev.Payload, slot.TypeOffset, slot.TypeLength, (slot.Flags & EventFlags.TypeEscaped) != 0, step.Text!, step.Outcomes);
                }

            case StepKind.KeyString:
                {
                    ref readonly EventSlot slot = ref ev.Slot;
                    return (slot.Flags & EventFlags.HasKey) != 0
                        && StringMatches(ev.Payload, slot.KeyOffset, slot.KeyLength, (slot.Flags & EventFlags.KeyEscaped) != 0, step.Text!, step.Outcomes);
                }

            case StepKind.ValueNumber:
                {
                    ref readonly EventSlot slot = ref ev.Slot;
                    double value = slot.Value;
                    double literal = step.Number;

                    // Branch-free: the order as one bit (none for a NaN), tested against the wanted ones.
                    int order = (value < literal ? Step.Less : 0) | (value == literal ? Step.Equal : 0) | (value > literal ? Step.Greater : 0);
                    return (slot.Flags & EventFlags.HasValue) != 0 && (order & step.Outcomes) != 0;
                }

            case StepKind.RowString:
                {
                    ev.TryGetField(step.Index, _fieldNames[step.Name], out JsonScalar field);
                    return field.Kind == JsonScalarKind.String
                        && StringMatches(ev.Payload, field.Offset, field.Length, field.Escaped, step.Text!, step.Outcomes);
                }

            case StepKind.RowNumber:
                {
                    ev.TryGetField(step.Index, _fieldNames[step.Name], out JsonScalar field);
                    return field.Kind == JsonScalarKind.Number && NumberMatches(in step, field, ev.Payload);
                }

            default:
                return CheckOther(in step, in ev);
        }
    }

    /// <summary>
    /// Equality of a located string with a literal: a length that differs settles it without
    /// reading the payload (the length of an unescaped string is its decoded length).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool StringMatches(ReadOnlySpan<byte> payload, int offset, int length, bool escaped, byte[] literal, byte outcomes)
    {
        if (escaped)
        {
            return EscapedStringMatches(payload.Slice(offset, length), literal, outcomes);
        }

        bool equal = length == literal.Length && SameBytes(payload.Slice(offset, length), literal);
        return (outcomes & (equal ? Step.Equal : Step.Less | Step.Greater)) != 0;
    }

    /// <summary>
    /// Equal spans of equal length. Up to 8 bytes (a region, a type, a country code) in two
    /// overlapping loads from each side, inline: no call into the vectorised compare, whose set-up
    /// costs more than the compare itself at these lengths.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool SameBytes(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        int n = a.Length;
        ref byte x = ref MemoryMarshal.GetReference(a);
        ref byte y = ref MemoryMarshal.GetReference(b);
        if (n >= 4)
        {
            return n <= 8
                ? Unsafe.ReadUnaligned<uint>(ref x) == Unsafe.ReadUnaligned<uint>(ref y)
                    && Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref x, n - 4)) == Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref y, n - 4))
                : a.SequenceEqual(b);
        }

        if (n >= 2)
        {
            return Unsafe.ReadUnaligned<ushort>(ref x) == Unsafe.ReadUnaligned<ushort>(ref y)
                && Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref x, n - 2)) == Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref y, n - 2));
        }

        return n == 0 || x == y;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool EscapedStringMatches(ReadOnlySpan<byte> raw, byte[] literal, byte outcomes) => outcomes == Step.Equal
        ? JsonString.EqualsUnescaped(raw, escaped: true, literal)
        : EscapedText.NotEqual(raw, aEscaped: true, literal, bEscaped: false);

    /// <summary>A located number token against the step's literal, converting the token only when its shape needs it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool NumberMatches(ref readonly Step step, JsonScalar field, ReadOnlySpan<byte> payload) =>
        NumberComparison.TryCompareToken(payload.Slice(field.Offset, field.Length), step.LiteralIsInteger, step.Integer, step.Number, out int comparison)
            ? Step.Holds(step.Outcomes, comparison)
            : ConvertedNumberMatches(in step, field, payload);

    /// <summary>The token converted as the general path converts it (exactly when an integer, else correctly rounded).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool ConvertedNumberMatches(ref readonly Step step, JsonScalar field, ReadOnlySpan<byte> payload)
    {
        bool isInteger = field.TryGetInt64(payload, out long integer);
        double number = isInteger ? integer : field.GetDouble(payload);
        return Step.Holds(step.Outcomes, NumberComparison.Compare(isInteger, integer, number, step.LiteralIsInteger, step.Integer, step.Number));
    }

    /// <summary>The steps with no inline form: the exact <c>value</c> comparison, and the general instructions.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool CheckOther(ref readonly Step step, in EventView ev)
    {
        if (step.Kind == StepKind.ValueInteger)
        {
            return ev.HasValue
                && Step.Holds(step.Outcomes, NumberComparison.Compare(false, 0, ev.Slot.Value, true, step.Integer, step.Number));
        }

        // Every field is bound and the row is there, so the empty cache sends lookups to the row.
        var fields = new FieldCache(default);
        return Test(in _code[step.Index], in ev, ref fields);
    }

    /// <summary>
    /// Resolves the common shapes of <paramref name="code"/> to steps that carry their operands:
    /// a string or number literal against <c>type</c>, <c>key</c>, <c>value</c> or a field bound
    /// to the row (<paramref name="fieldSlots"/>); everything else stays a general step.
    /// </summary>
    private static Step[] Prepare(Instruction[] code, LiteralValue[] literals, int[] fieldSlots)
    {
        var steps = new Step[code.Length];
        for (int i = 0; i < code.Length; i++)
        {
            Instruction ins = code[i];
            byte outcomes = Step.OutcomesOf(ins.Op);
            LiteralValue literal = ins.Right.Kind == OperandKind.Literal ? literals[ins.Right.Index] : default;
            int slot = ins.Left.Kind == OperandKind.Field ? fieldSlots[ins.Left.Index] : -1;
            bool isString = literal.Kind == ScalarKind.String && ins.Op is CompareOp.Equal or CompareOp.NotEqual;
            bool isNumber = literal.Kind == ScalarKind.Number;

            // An integer literal keeps its exact value; one within 2^53 is the same number as a double.
            bool exactDouble = !literal.IsInteger || literal.Integer is >= -NumberComparison.ExactInDouble and <= NumberComparison.ExactInDouble;
            double number = literal.IsInteger && exactDouble ? literal.Integer : literal.Number;
            steps[i] = ins.Kind switch
            {
                InstructionKind.TypeEqualsString => new Step(StepKind.TypeString, outcomes, 0, 0, ins.OnTrue, ins.OnFalse, text: literal.Utf8),
                InstructionKind.KeyEqualsString => new Step(StepKind.KeyString, outcomes, 0, 0, ins.OnTrue, ins.OnFalse, text: literal.Utf8),
                InstructionKind.ValueCompareNumber => new Step(
                    exactDouble ? StepKind.ValueNumber : StepKind.ValueInteger, outcomes, 0, 0, ins.OnTrue, ins.OnFalse, number, literal.Integer, literal.IsInteger),
                InstructionKind.Compare when slot >= 0 && isString =>
                    new Step(StepKind.RowString, outcomes, slot, ins.Left.Index, ins.OnTrue, ins.OnFalse, text: literal.Utf8),
                InstructionKind.Compare when slot >= 0 && isNumber =>
                    new Step(StepKind.RowNumber, outcomes, slot, ins.Left.Index, ins.OnTrue, ins.OnFalse, literal.Number, literal.Integer, literal.IsInteger),
                _ => new Step(StepKind.General, 0, i, 0, ins.OnTrue, ins.OnFalse),
            };
        }

        return steps;
    }

    private bool Test(ref readonly Instruction ins, in EventView ev, ref FieldCache fields)
    {
        switch (ins.Kind)
        {
            case InstructionKind.TypeEqualsString:
                return ev.HasType && StringEquality(ins.Op, ev.TypeRaw, ev.TypeEscaped, _literals[ins.Right.Index].Utf8);
            case InstructionKind.KeyEqualsString:
                return ev.HasKey && StringEquality(ins.Op, ev.KeyRaw, ev.KeyEscaped, _literals[ins.Right.Index].Utf8);
            case InstructionKind.ValueCompareNumber:
                {
                    if (!ev.HasValue)
                    {
                        return false;
                    }

                    ref readonly LiteralValue literal = ref _literals[ins.Right.Index];
                    return NumberComparison.Apply(ins.Op, NumberComparison.Compare(false, 0, ev.Slot.Value, literal.IsInteger, literal.Integer, literal.Number));
                }

            case InstructionKind.Compare
                when ins.Left.Kind == OperandKind.Field && ins.Right.Kind == OperandKind.Literal
                    && ins.Op is CompareOp.Equal or CompareOp.NotEqual && _literals[ins.Right.Index].Kind == ScalarKind.String:
                {
                    // `.field == "text"`, the commonest test on a named field: the same outcome
                    // as the general path (a missing or non-string field is neither equal nor
                    // unequal to a string), without building two scalars.
                    JsonScalar field = LookUpField(ins.Left.Index, in ev, ref fields);
                    return field.Kind == JsonScalarKind.String
                        && StringEquality(ins.Op, ev.Payload.Slice(field.Offset, field.Length), field.Escaped, _literals[ins.Right.Index].Utf8);
                }

            default:
                return TestGeneral(in ins, in ev, ref fields);
        }
    }

    /// <summary>
    /// The tests that build scalars. Apart from <see cref="Test"/>, whose common cases then keep a
    /// small frame: a scalar holds a span, and a frame holding spans is cleared on every call.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TestGeneral(ref readonly Instruction ins, in EventView ev, ref FieldCache fields)
    {
        switch (ins.Kind)
        {
            case InstructionKind.Compare:
                {
                    Resolve(ins.Left, in ev, ref fields, out Scalar left);
                    Resolve(ins.Right, in ev, ref fields, out Scalar right);
                    return Compare(ins.Op, in left, in right);
                }

            case InstructionKind.In:
                {
                    Resolve(ins.Left, in ev, ref fields, out Scalar left);
                    return _lists[ins.ListIndex].Contains(in left);
                }

            case InstructionKind.StartsWith:
            case InstructionKind.Contains:
                {
                    Resolve(ins.Left, in ev, ref fields, out Scalar text);
                    Resolve(ins.Right, in ev, ref fields, out Scalar part);
                    if (text.Kind != ScalarKind.String || part.Kind != ScalarKind.String)
                    {
                        return false;
                    }

                    return ins.Kind == InstructionKind.StartsWith
                        ? EscapedText.StartsWith(text.Bytes, text.Escaped, part.Bytes, part.Escaped)
                        : EscapedText.Contains(text.Bytes, text.Escaped, part.Bytes, part.Escaped);
                }

            default:
                return Exists(ins.Left, in ev, ref fields);
        }
    }

    private static bool StringEquality(CompareOp op, ReadOnlySpan<byte> raw, bool escaped, ReadOnlySpan<byte> literal) => op == CompareOp.Equal
        ? JsonString.EqualsUnescaped(raw, escaped, literal)
        : EscapedText.NotEqual(raw, escaped, literal, bEscaped: false);

    private static bool Compare(CompareOp op, in Scalar a, in Scalar b)
    {
        if (a.Kind != b.Kind)
        {
            // true and false are two kinds but one type: they are unequal, not incomparable.
            return IsBoolean(a.Kind) && IsBoolean(b.Kind) && op == CompareOp.NotEqual;
        }

        switch (a.Kind)
        {
            case ScalarKind.Number:
                return NumberComparison.Apply(op, NumberComparison.Compare(a.IsInteger, a.Integer, a.Number, b.IsInteger, b.Integer, b.Number));
            case ScalarKind.String:
                return op switch
                {
                    CompareOp.Equal => EscapedText.Equal(a.Bytes, a.Escaped, b.Bytes, b.Escaped),
                    CompareOp.NotEqual => EscapedText.NotEqual(a.Bytes, a.Escaped, b.Bytes, b.Escaped),
                    _ => NumberComparison.Apply(op, EscapedText.Compare(a.Bytes, a.Escaped, b.Bytes, b.Escaped)),
                };
            case ScalarKind.True:
            case ScalarKind.False:
            case ScalarKind.Null:
                // Same kind, so equal; booleans and null have no order.
                return op == CompareOp.Equal;
            default:
                // Missing on both sides, or two containers: nothing to compare.
                return false;
        }
    }

    private static bool IsBoolean(ScalarKind kind) => kind is ScalarKind.True or ScalarKind.False;

    private bool Exists(Operand operand, in EventView ev, ref FieldCache fields) => operand.Kind switch
    {
        OperandKind.Type => ev.HasType,
        OperandKind.Key => ev.HasKey,
        OperandKind.Value => ev.HasValue,
        OperandKind.Timestamp => (ev.Slot.Flags & EventFlags.HasTimestamp) != 0,
        _ => LookUpField(operand.Index, in ev, ref fields).Kind != JsonScalarKind.None,
    };

    private void Resolve(Operand operand, in EventView ev, ref FieldCache fields, out Scalar result)
    {
        result = default;
        switch (operand.Kind)
        {
            case OperandKind.Type:
                if (ev.HasType)
                {
                    result.Kind = ScalarKind.String;
                    result.Bytes = ev.TypeRaw;
                    result.Escaped = ev.TypeEscaped;
                }

                break;
            case OperandKind.Key:
                if (ev.HasKey)
                {
                    result.Kind = ScalarKind.String;
                    result.Bytes = ev.KeyRaw;
                    result.Escaped = ev.KeyEscaped;
                }

                break;
            case OperandKind.Value:
                if (ev.HasValue)
                {
                    result.Kind = ScalarKind.Number;
                    result.Number = ev.Slot.Value;
                }

                break;
            case OperandKind.Timestamp:
                // Always present: the slot carries the ingest time when the event had no ts.
                result.Kind = ScalarKind.Number;
                result.IsInteger = true;
                result.Integer = ev.Slot.Timestamp;
                result.Number = ev.Slot.Timestamp;
                break;
            case OperandKind.Literal:
                {
                    ref readonly LiteralValue literal = ref _literals[operand.Index];
                    result.Kind = literal.Kind;
                    result.Bytes = literal.Utf8;
                    result.Number = literal.Number;
                    result.Integer = literal.Integer;
                    result.IsInteger = literal.IsInteger;
                    break;
                }

            default:
                {
                    JsonScalar field = LookUpField(operand.Index, in ev, ref fields);
                    switch (field.Kind)
                    {
                        case JsonScalarKind.String:
                            result.Kind = ScalarKind.String;
                            result.Bytes = ev.Payload.Slice(field.Offset, field.Length);
                            result.Escaped = field.Escaped;
                            break;
                        case JsonScalarKind.Number:
                            // Converted here, when compared: integers exactly (a nanosecond time is
                            // beyond a double's 2^53), other numbers correctly rounded.
                            result.Kind = ScalarKind.Number;
                            if (field.TryGetInt64(ev.Payload, out long integer))
                            {
                                result.IsInteger = true;
                                result.Integer = integer;
                                result.Number = integer;
                            }
                            else
                            {
                                result.Number = field.GetDouble(ev.Payload);
                            }

                            break;
                        case JsonScalarKind.True:
                            result.Kind = ScalarKind.True;
                            break;
                        case JsonScalarKind.False:
                            result.Kind = ScalarKind.False;
                            break;
                        case JsonScalarKind.Null:
                            result.Kind = ScalarKind.Null;
                            break;
                        case JsonScalarKind.Object:
                        case JsonScalarKind.Array:
                            result.Kind = ScalarKind.Container;
                            break;
                    }

                    break;
                }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private JsonScalar LookUpField(int index, in EventView ev, ref FieldCache fields)
    {
        if (fields.IsEmpty)
        {
            // Bound and indexed (see _allBound): the decoder's row has it.
            ev.TryGetField(_fieldSlots[index], default, out JsonScalar recorded);
            return recorded;
        }

        return LookUpCached(index, in ev, ref fields);
    }

    private JsonScalar LookUpCached(int index, in EventView ev, ref FieldCache fields)
    {
        if (fields.TryGet(index, out JsonScalar cached))
        {
            return cached;
        }

        // A failed lookup leaves the default scalar (kind None), which reads as missing.
        ev.TryGetField(_fieldSlots[index], _fieldNames[index], out JsonScalar found);
        fields.Set(index, found);
        return found;
    }

    /// <summary>The fields already looked up during one evaluation; a stack buffer and a bit mask.</summary>
    private ref struct FieldCache(Span<JsonScalar> entries)
    {
        private readonly Span<JsonScalar> _entries = entries;
        private uint _filled;

        public readonly bool IsEmpty => _entries.IsEmpty;

        public readonly bool TryGet(int index, out JsonScalar value)
        {
            if ((uint)index < (uint)_entries.Length && (_filled & (1u << index)) != 0)
            {
                value = _entries[index];
                return true;
            }

            value = default;
            return false;
        }

        public void Set(int index, JsonScalar value)
        {
            if ((uint)index < (uint)_entries.Length)
            {
                _entries[index] = value;
                _filled |= 1u << index;
            }
        }
    }
}
