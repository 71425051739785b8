using EventDaemon.Events;
using Xunit;

namespace EventDaemon.Stages.Tests.Expressions;

public class EvaluationTests
{
    private const string Purchase = """
        {"ts":1764151200000000001,"type":"purchase","key":"user-42","value":12.5,"region":"eu","count":3,"ok":true,"bad":false,"nothing":null,"obj":{"a":1},"arr":[1,2],"name":"caf\u00e9","quote":"say \"hi\"","tab":"a\tb","region2":"\u0065u","big":1e300,"neg":-4}
        """;

    private const string Bare = """{"other":1}""";

    private static void AssertMatch(string json, string expression, bool expected)
    {
        bool actual = TestEvent.FromJson(json).Matches(Compiled.From(expression));
        Assert.True(actual == expected, $"'{expression}' on {json} should be {expected} but was {actual}");
    }

    [Theory]
    [InlineData("type == \"purchase\"", true)]
    [InlineData("type != \"purchase\"", false)]
    [InlineData("type == \"refund\"", false)]
    [InlineData("type != \"refund\"", true)]
    [InlineData("\"purchase\" == type", true)]
    [InlineData("key == \"user-42\"", true)]
    [InlineData("key < \"user-5\"", true)]
    [InlineData("key > \"user-5\"", false)]
    [InlineData("type >= \"purchase\" && type <= \"purchase\"", true)]
    [InlineData("value > 10", true)]
    [InlineData("value >= 12.5", true)]
    [InlineData("value < 12.5", false)]
    [InlineData("value <= 12.5", true)]
    [InlineData("value == 12.5", true)]
    [InlineData("value != 12.5", false)]
    [InlineData("10 < value", true)]
    [InlineData("13 <= value", false)]
    [InlineData(".count == 3", true)]
    [InlineData(".count == 3.0", true)]
    [InlineData(".count > 2.5", true)]
    [InlineData(".neg < -3.5", true)]
    [InlineData(".big > 1e299", true)]
    [InlineData(".count == value", false)]
    [InlineData(".count < value", true)]
    [InlineData(".region == \"eu\"", true)]
    [InlineData(".region < \"f\"", true)]
    [InlineData(".region > \"eu\"", false)]
    [InlineData(".region >= \"eu\"", true)]
    [InlineData(".region == .region2", true)]
    [InlineData(".region != .region2", false)]
    [InlineData(".region < key", true)]
    [InlineData("\"a\" < \"b\"", true)]
    [InlineData("2 >= 3", false)]
    public void Comparisons_OfTheSameType_FollowTheirOrder(string expression, bool expected) =>
        AssertMatch(Purchase, expression, expected);

    [Theory]
    [InlineData("value == \"12.5\"")]
    [InlineData("value != \"x\"")]
    [InlineData("type == 1")]
    [InlineData("type != 1")]
    [InlineData("type < 1")]
    [InlineData(".count == \"3\"")]
    [InlineData(".count != \"3\"")]
    [InlineData(".count > \"2\"")]
    [InlineData(".region != 1")]
    [InlineData(".ok != 1")]
    [InlineData(".ok == \"true\"")]
    [InlineData(".nothing == 0")]
    [InlineData(".nothing != 0")]
    [InlineData(".region == null")]
    [InlineData(".region != null")]
    [InlineData("ts == \"1764151200000000001\"")]
    [InlineData(".obj == .obj")]
    [InlineData(".obj != .obj")]
    [InlineData(".arr != 1")]
    [InlineData(".arr == \"[1,2]\"")]
    [InlineData("true != 1")]
    [InlineData("null != false")]
    public void Comparisons_AcrossTypes_AreFalseEvenForNotEqual(string expression) =>
        AssertMatch(Purchase, expression, false);

    [Theory]
    [InlineData(".ok == true", true)]
    [InlineData(".ok != false", true)]
    [InlineData(".ok == false", false)]
    [InlineData(".bad == false", true)]
    [InlineData(".ok != .bad", true)]
    [InlineData(".ok < true", false)]
    [InlineData(".ok >= true", false)]
    [InlineData(".nothing == null", true)]
    [InlineData(".nothing != null", false)]
    [InlineData(".nothing <= null", false)]
    [InlineData("true == true", true)]
    [InlineData("null == null", true)]
    public void BooleansAndNull_CompareForEqualityOnly(string expression, bool expected) =>
        AssertMatch(Purchase, expression, expected);

    [Theory]
    [InlineData(".missing == 1", false)]
    [InlineData(".missing != 1", false)]
    [InlineData(".missing == null", false)]
    [InlineData(".missing == .missing", false)]
    [InlineData("!(.missing == 1)", true)]
    [InlineData("exists(.missing)", false)]
    [InlineData(".missing in [1, \"a\", null]", false)]
    [InlineData("!(.missing in [1])", true)]
    [InlineData("starts_with(.missing, \"\")", false)]
    [InlineData("contains(\"abc\", .missing)", false)]
    [InlineData("type == \"x\"", false)]
    [InlineData("type != \"x\"", false)]
    [InlineData("key != \"x\"", false)]
    [InlineData("value != 1", false)]
    [InlineData("value < 1 || value >= 1", false)]
    [InlineData("type in [\"x\"]", false)]
    [InlineData("starts_with(type, \"\")", false)]
    [InlineData("exists(type) || exists(key) || exists(value) || exists(ts)", false)]
    [InlineData("exists(.other)", true)]
    public void MissingOperands_MakeComparisonsFalse(string expression, bool expected) =>
        AssertMatch(Bare, expression, expected);

    [Theory]
    [InlineData("exists(type)", true)]
    [InlineData("exists(key)", true)]
    [InlineData("exists(value)", true)]
    [InlineData("exists(ts)", true)]
    [InlineData("exists(.nothing)", true)]
    [InlineData("exists(.obj) && exists(.arr)", true)]
    [InlineData("exists(.region)", true)]
    [InlineData("exists(.Region)", false)]
    public void Exists_IsTrueForEveryPresentField_NullAndContainersIncluded(string expression, bool expected) =>
        AssertMatch(Purchase, expression, expected);

    [Fact]
    public void Ts_WithoutATimestampInTheEvent_DoesNotExistButStillCompares()
    {
        // The source stores the ingest time in the slot when the event has no ts; the parser leaves 0 here.
        AssertMatch("""{"type":"a"}""", "exists(ts)", false);
        AssertMatch("""{"type":"a"}""", "ts == 0", true);
    }

    [Theory]
    [InlineData("ts == 1764151200000000001", true)]
    [InlineData("ts == 1764151200000000000", false)]
    [InlineData("ts != 1764151200000000000", true)]
    [InlineData("ts > 1764151200000000000", true)]
    [InlineData("ts < 1764151200000000002", true)]
    [InlineData("ts == 1.764151200000000001e18", false)]
    [InlineData("ts > 1.7641512e18", true)]
    [InlineData("ts >= 1764151200000000001 && ts <= 1764151200000000001", true)]
    [InlineData("ts in [1, 1764151200000000001, 5]", true)]
    [InlineData("ts in [1764151200000000000, 1764151200000000002]", false)]
    [InlineData("ts > 1e300", false)]
    [InlineData("ts > -1e300", true)]
    public void Ts_ComparesAsAnExactIntegerOfNanoseconds(string expression, bool expected) =>
        AssertMatch(Purchase, expression, expected);

    [Theory]
    [InlineData(".name == \"café\"", true)]
    [InlineData(".name == \"caf\\u00e9\"", true)]
    [InlineData(".name == \"cafe\"", false)]
    [InlineData(".name > \"cafe\"", true)]
    [InlineData(".name < \"caf\\u00ea\"", true)]
    [InlineData("starts_with(.name, \"caf\")", true)]
    [InlineData("starts_with(.name, \"café\")", true)]
    [InlineData("contains(.name, \"é\")", true)]
    [InlineData("contains(.name, \"e\")", false)]
    [InlineData(".quote == \"say \\\"hi\\\"\"", true)]
    [InlineData(".quote == 'say \"hi\"'", true)]
    [InlineData("contains(.quote, '\"hi\"')", true)]
    [InlineData(".tab == \"a\\tb\"", true)]
    [InlineData(".region2 == \"eu\"", true)]
    [InlineData(".name in [\"café\", \"tea\"]", true)]
    [InlineData(".name in [\"cafe\", \"tea\"]", false)]
    [InlineData(".quote in [\"say \\\"hi\\\"\"]", true)]
    [InlineData("contains(.quote, .region2)", false)]
    [InlineData("starts_with(.region2, .region2)", true)]
    [InlineData("contains(.name, .name)", true)]
    public void StringComparisons_HonourJsonEscapes(string expression, bool expected) =>
        AssertMatch(Purchase, expression, expected);

    [Theory]
    [InlineData("type == \"purchase\"", true)]
    [InlineData("type != \"purchase\"", false)]
    [InlineData("type == \"p\\\\u0075rchase\"", false)]
    [InlineData("key == \"é\\\"\"", true)]
    [InlineData("key > \"é\"", true)]
    [InlineData("starts_with(key, \"é\")", true)]
    [InlineData("contains(key, \"\\\"\")", true)]
    [InlineData("key in [\"a\", \"é\\\"\", \"z\"]", true)]
    [InlineData("type == .t2", true)]
    public void WellKnownFields_WithEscapes_CompareUnescaped(string expression, bool expected) =>
        AssertMatch("""{"type":"p\u0075rchase","key":"\u00e9\"","t2":"purch\u0061se"}""", expression, expected);

    [Theory]
    [InlineData("type in [\"a\", \"purchase\", \"z\"]", true)]
    [InlineData("type in [\"a\", \"b\"]", false)]
    [InlineData("type in []", false)]
    [InlineData("value in [1, 12.5]", true)]
    [InlineData("value in [12, 13]", false)]
    [InlineData(".count in [\"3\", 4]", false)]
    [InlineData(".count in [\"3\", 3]", true)]
    [InlineData(".ok in [false, null]", false)]
    [InlineData(".ok in [true]", true)]
    [InlineData(".bad in [false]", true)]
    [InlineData(".nothing in [null]", true)]
    [InlineData(".obj in [1, \"a\", true, false, null]", false)]
    [InlineData("key in [\"user-1\", \"user-2\", \"user-3\", \"user-4\", \"user-40\", \"user-41\", \"user-42\", \"user-43\", \"user-5\"]", true)]
    [InlineData("key in [\"user-1\", \"user-2\", \"user-3\", \"user-4\", \"user-40\", \"user-41\", \"user-43\", \"user-5\"]", false)]
    [InlineData("!(type in [\"a\"])", true)]
    public void In_IsTrueWhenAnyItemIsEqual(string expression, bool expected) =>
        AssertMatch(Purchase, expression, expected);

    [Theory]
    [InlineData("starts_with(type, \"pur\")", true)]
    [InlineData("starts_with(type, \"chase\")", false)]
    [InlineData("starts_with(type, \"\")", true)]
    [InlineData("starts_with(type, \"purchases\")", false)]
    [InlineData("contains(key, \"-4\")", true)]
    [InlineData("contains(key, \"-5\")", false)]
    [InlineData("contains(type, \"\")", true)]
    [InlineData("starts_with(\"purchase order\", type)", true)]
    [InlineData("contains(\"abc\", \"b\")", true)]
    [InlineData("starts_with(.count, \"3\")", false)]
    [InlineData("contains(.ok, \"t\")", false)]
    [InlineData("starts_with(.obj, \"{\")", false)]
    public void StringFunctions_WorkOnStringsOnly(string expression, bool expected) =>
        AssertMatch(Purchase, expression, expected);

    [Theory]
    [InlineData("type == \"purchase\" || type == \"x\" && value > 100", true)]
    [InlineData("(type == \"purchase\" || type == \"x\") && value > 100", false)]
    [InlineData("!(type == \"x\") && value > 10", true)]
    [InlineData("!exists(.missing) && !!exists(.region)", true)]
    [InlineData("true", true)]
    [InlineData("false", false)]
    [InlineData("!false", true)]
    [InlineData("false || true && true", true)]
    [InlineData("true && false || false", false)]
    [InlineData("true || .missing == 1", true)]
    [InlineData("false && .count == 3", false)]
    [InlineData("type == \"purchase\" && key == \"user-42\" && value > 12 && .region == \"eu\"", true)]
    [InlineData("type == \"purchase\" && key == \"user-42\" && value > 13 && .region == \"eu\"", false)]
    [InlineData("type == \"a\" || type == \"b\" || type == \"c\" || type == \"purchase\"", true)]
    public void LogicalOperators_FollowPrecedenceAndShortCircuit(string expression, bool expected) =>
        AssertMatch(Purchase, expression, expected);

    [Fact]
    public void SameField_TestedMoreThanOnce_GivesConsistentAnswers()
    {
        AssertMatch(Purchase, ".count > 1 && .count < 5 && .count != 4 && .region == \"eu\" && .count == 3", true);
        AssertMatch(Purchase, ".count > 1 && .count < 3", false);
    }

    [Fact]
    public void ManyDistinctFields_BeyondTheLookupCache_StillResolve()
    {
        string json = "{" + string.Join(",", Enumerable.Range(0, 40).Select(i => $"\"f{i}\":{i}")) + "}";
        string expression = string.Join(" && ", Enumerable.Range(0, 40).Select(i => $".f{i} == {i}"));
        AssertMatch(json, expression, true);
        AssertMatch(json, expression + " && .f39 == 38", false);
    }

    [Fact]
    public void DuplicateNames_InThePayload_LastOneWins()
    {
        AssertMatch("""{"a":1,"a":2}""", ".a == 2", true);
        AssertMatch("""{"a":1,"a":2}""", ".a == 1", false);
    }

    [Fact]
    public void BinaryEvents_HaveNoNamedFields_ButKeepTheWellKnownOnes()
    {
        byte[] payload = "{\"x\":1}"u8.ToArray();
        var slot = new EventSlot
        {
            Flags = EventFlags.Binary | EventFlags.HasType | EventFlags.HasValue,
            TypeOffset = 2,
            TypeLength = 1,
            Value = 7,
        };
        var ev = TestEvent.FromBinary(slot, payload);

        bool fieldSeen = ev.Matches(Compiled.From(".x == 1 || exists(.x)"));
        Assert.False(fieldSeen, "a binary frame's bytes must not be read as JSON fields");
        bool known = ev.Matches(Compiled.From("type == \"x\" && value == 7"));
        Assert.True(known, "type and value of a binary frame come from the slot and should match");
    }
}
