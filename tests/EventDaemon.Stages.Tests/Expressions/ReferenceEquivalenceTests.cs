using CsCheck;
using EventDaemon.Stages.Expressions;
using Xunit;

namespace EventDaemon.Stages.Tests.Expressions;

/// <summary>
/// Random expressions over random events: the compiled program must agree with
/// <see cref="Reference"/> on every one. Values come from small pools so equalities, prefixes and
/// list hits actually happen; strings include escapes, multi-byte UTF-8 and a character whose
/// UTF-16 order differs from its UTF-8 order (U+E000 vs U+1F600).
/// </summary>
public class ReferenceEquivalenceTests
{
    private static readonly string[] Strings = ["", "a", "b", "ab", "ba", "é", "😀", "\uE000", "\"", "\\", "a\nb", "x y"];
    private static readonly double[] Numbers = [-1, 0, 1, 2.5, 3, 1000];
    private static readonly long[] Timestamps = [0, 1, 3, 1000];
    private static readonly string[] FieldNames = ["a", "b", "c", "x y"];

    private static readonly Gen<string> StringGen = Gen.OneOf(Strings);
    private static readonly Gen<double> NumberGen = Gen.OneOf(Numbers);

    private static readonly Gen<object> FieldValueGen = Gen.Frequency(
        (4, StringGen.Select(s => (object)s)),
        (4, NumberGen.Select(d => (object)d)),
        (2, Gen.Bool.Select(b => (object)b)),
        (1, Gen.Const((object)JsonNull.Instance)),
        (1, Gen.OneOf<object>(new JsonContainer("""{"z":[1,"\""]}"""), new JsonContainer("[1,2]"))));

    private static readonly Gen<ModelEvent> EventGen =
        from type in StringGen.Null(0.2)
        from key in StringGen.Null(0.2)
        from value in NumberGen.Nullable(0.2)
        from ts in Gen.OneOf(Timestamps).Nullable(0.2)
        from present in Gen.Bool.Array[FieldNames.Length]
        from values in FieldValueGen.Array[FieldNames.Length]
        from escapeEverything in Gen.Bool
        select new ModelEvent(
            type,
            key,
            value,
            ts,
            [.. FieldNames.Select((name, i) => (name, values[i])).Where((_, i) => present[i])],
            escapeEverything);

    private static readonly Gen<ModelLiteral> LiteralGen = Gen.Frequency(
        (4, from s in StringGen from escape in Gen.Bool select new ModelLiteral(s, escape)),
        (4, NumberGen.Select(d => new ModelLiteral(d, false))),
        (1, Gen.Bool.Select(b => new ModelLiteral(b, false))),
        (1, Gen.Const(new ModelLiteral(JsonNull.Instance, false))));

    private static readonly Gen<ModelOperand> OperandGen =
        Gen.OneOf(["type", "key", "value", "ts", .. FieldNames.Select(n => "." + n)]).Select(n => new ModelOperand(n));

    private static readonly Gen<ModelValue> ValueGen = Gen.Frequency(
        (3, OperandGen.Select(o => (ModelValue)o)),
        (2, LiteralGen.Select(l => (ModelValue)l)));

    private static readonly Gen<ModelValue> StringValueGen = Gen.Frequency(
        (3, Gen.OneOf(["type", "key", .. FieldNames.Select(n => "." + n)]).Select(n => (ModelValue)new ModelOperand(n))),
        (2, from s in StringGen from escape in Gen.Bool select (ModelValue)new ModelLiteral(s, escape)));

    private static readonly Gen<ModelCondition> LeafGen = Gen.Frequency(
        (6, from l in ValueGen from op in Gen.OneOf("==", "!=", "<", "<=", ">", ">=") from r in ValueGen select (ModelCondition)new ModelCompare(l, op, r)),
        (2, from l in ValueGen from items in LiteralGen.Array[0, 5] select (ModelCondition)new ModelIn(l, items)),
        (2, from f in Gen.OneOf("starts_with", "contains") from a in StringValueGen from b in StringValueGen select (ModelCondition)new ModelCall(f, [a, b])),
        (1, OperandGen.Select(o => (ModelCondition)new ModelCall("exists", [o]))),
        (1, Gen.Bool.Select(b => (ModelCondition)new ModelConstant(b))));

    private static readonly Gen<ModelCondition> ConditionGen = Condition(depth: 4);

    private static Gen<ModelCondition> Condition(int depth)
    {
        if (depth == 0)
        {
            return LeafGen;
        }

        Gen<ModelCondition> sub = Condition(depth - 1);
        return Gen.Frequency(
            (3, LeafGen),
            (1, sub.Select(c => (ModelCondition)new ModelNot(c))),
            (2, from l in sub from r in sub from isAnd in Gen.Bool select (ModelCondition)new ModelLogical(isAnd, l, r)));
    }

    [Fact]
    public void CompiledProgram_AgreesWithTheReferenceEvaluator_OnRandomExpressionsAndEvents()
    {
        Gen.Select(ConditionGen, EventGen.Array[4]).Sample(
            (condition, events) =>
            {
                string text = Printer.Print(condition);
                FilterProgram program = Compiled.From(text);
                foreach (ModelEvent model in events)
                {
                    string json = model.ToJson();
                    bool expected = Reference.Evaluate(condition, model);
                    var ev = TestEvent.FromJson(json);
                    bool actual = ev.Matches(program);
                    Assert.True(actual == expected, $"'{text}' on {json}: compiled gave {actual}, reference {expected} (parsed as {program.Canonical})");
                    bool indexed = ev.MatchesIndexed(program);
                    Assert.True(indexed == expected, $"'{text}' on {json}: reading fields from the decoder's row gave {indexed}, reference {expected}");
                }
            },
            iter: 5_000,
            threads: 1,
            print: t => $"{Printer.Print(t.Item1)} on [{string.Join(", ", t.Item2.Select(e => e.ToJson()))}]");
    }

    [Fact]
    public void Canonical_ReparsesToTheSameProgram_OnRandomExpressions()
    {
        ConditionGen.Sample(
            condition =>
            {
                string text = Printer.Print(condition);
                string canonical = Compiled.From(text).Canonical;
                string again = Compiled.From(canonical).Canonical;
                Assert.True(again == canonical, $"canonical form of '{text}' is '{canonical}', which re-parses as '{again}'");
            },
            iter: 2_000,
            threads: 1,
            print: Printer.Print);
    }
}
