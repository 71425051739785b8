using System.Globalization;
using System.Numerics;
using System.Text;
using CsCheck;
using EventDaemon.Stages.Expressions;
using Xunit;

namespace EventDaemon.Stages.Tests.Expressions;

/// <summary>
/// The prepared steps a program runs on the decoder's row (string and number literals against
/// <c>type</c>, <c>key</c>, <c>value</c> and bound <c>.fields</c>, numbers compared by their digits)
/// must give the general path's answer, and both an exact reference's, on every event: numbers
/// around 2^53 and 2^63, <c>-0.0</c>, exponents, integers written as <c>10.0</c>, decimals that
/// round onto an integer, escaped strings, fields that are missing, null or of another type, and
/// programs with every field bound, some bound, or none.
/// </summary>
public class RowPathDifferentialTests
{
    // Number tokens as they appear in events. Each shape of the digit comparison and each way out
    // of it: signs, zero fractions, 15 and 16 significant digits, decimals a double rounds onto an
    // integer (10.0000000000000001, 9.9999999999999999), integers beyond 2^53 and 2^63, exponents.
    private static readonly string[] NumberTokens =
    [
        "0", "-0", "0.0", "-0.0", "0.00", "1", "-1", "0.5", "-0.5", "2.5", "9", "9.99", "10", "-10", "10.0", "10.00", "10.5",
        "-10.5", "-9.5", "-9.99", "11", "12.5", "99.99", "1e1", "1.0e1", "1E+1", "100e-1", "1e-1", "-1e1", "0.1", "1e300", "-1e300",
        "10.000000000000001", "10.0000000000000001", "9.9999999999999999", "9.999999999999999", "-10.0000000000000001",
        "12345678901234.5", "123456789012345.6", "99999999999999.9", "999999999999999", "1000000000000000.5",
        "4503599627370496.5", "9007199254740991", "9007199254740992", "9007199254740993", "9007199254740993.0", "-9007199254740993",
        "9007199254740992.5", "999999999999999999", "1000000000000000000", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "-9223372036854775809", "1764151200000000001", "1764151200000000001.5", "18446744073709551616",
    ];

    // Number literals as written in conditions: integers within and beyond 2^53, decimals, exponents.
    private static readonly string[] NumberLiterals =
    [
        "0", "-0", "0.0", "1", "-1", "10", "-10", "10.0", "10.5", "-10.5", "9.99", "12.5", "1e1", "0.1", "100", "1e300",
        "12345678901234", "99999999999999", "999999999999999", "1000000000000000", "4503599627370496",
        "9007199254740991", "9007199254740992", "9007199254740993", "-9007199254740993", "9007199254740994",
        "999999999999999999", "1000000000000000000", "9223372036854775807", "-9223372036854775808", "1764151200000000001",
    ];

    // JSON string bodies as they appear in events, with the text they decode to.
    private static readonly (string Raw, string Text)[] StringTokens =
    [
        ("ap", "ap"), ("\\u0061p", "ap"), ("a\\u0070", "ap"), ("eu", "eu"), ("us", "us"), ("", ""), ("apx", "apx"), ("a", "a"),
        ("purchase", "purchase"), ("purch\\u0061se", "purchase"), ("view", "view"), ("caf\\u00e9", "café"), ("café", "café"),
        ("a\\\"b", "a\"b"), ("p\\/x", "p/x"), ("12", "12"),
    ];

    // String literals as written in conditions (the expression's own escapes are tested elsewhere).
    private static readonly string[] StringLiterals = ["ap", "eu", "", "purchase", "café", "a\\\"b", "p/x", "12", "apx"];

    private static readonly string[] Ops = ["==", "!=", "<", "<=", ">", ">="];

    private static readonly Gen<string?> NumberJson = Gen.Frequency(
        (8, Gen.OneOf(NumberTokens).Select(t => (string?)t)),
        (3, Gen.Int[-2_000, 2_000].Select(i => (string?)(i / 100.0).ToString("0.00", CultureInfo.InvariantCulture))),
        (1, Gen.Const((string?)null)));

    private static readonly Gen<string> StringJson = Gen.OneOf(StringTokens.Select(s => s.Raw).ToArray());

    /// <summary>A field's value as JSON: a number, a string, null, a boolean, a container, or absent.</summary>
    private static readonly Gen<string?> AnyValueJson = Gen.Frequency(
        (5, NumberJson.Where(n => n is not null).Select(n => n)),
        (4, StringJson.Select(s => (string?)$"\"{s}\"")),
        (1, Gen.OneOf<string?>("null", "true", "[1]")),
        (2, Gen.Const((string?)null)));

    private static readonly Gen<RowEvent> EventGen =
        from type in StringJson.Null(0.15)
        from key in StringJson.Null(0.15)
        from value in NumberJson
        from n in AnyValueJson
        from s in AnyValueJson
        select new RowEvent(type, key, value, n, s);

    private static readonly Gen<Leaf> LeafGen = Gen.Frequency(
        (3, from operand in Gen.OneOf("type", "key", ".s", ".n")
            from equal in Gen.Bool
            from literal in Gen.OneOf(StringLiterals)
            select new Leaf(operand, equal ? "==" : "!=", $"\"{literal}\"")),
        (4, from operand in Gen.OneOf("value", ".n", ".s")
            from op in Gen.OneOf(Ops)
            from literal in Gen.OneOf(NumberLiterals)
            select new Leaf(operand, op, literal)),
        (1, from operand in Gen.OneOf("value", ".n")
            from op in Gen.OneOf(Ops)
            from whole in Gen.Int[-30, 30]
            select new Leaf(operand, op, whole.ToString(CultureInfo.InvariantCulture))));

    private static readonly Gen<Condition> ConditionGen = Gen.Frequency(
        (3, LeafGen.Select(l => (Condition)l)),
        (2, from a in LeafGen
            from b in LeafGen
            from and in Gen.Bool
            from notA in Gen.Bool
            select (Condition)new Pair(notA ? new Not(a) : a, and, b)));

    [Fact]
    public void RowSteps_AgreeWithTheGeneralPathAndAnExactReference_OnRandomConditionsAndEvents()
    {
        Gen.Select(ConditionGen, EventGen.Array[6]).Sample(
            (condition, events) =>
            {
                string text = condition.Text;
                FilterProgram program = Compiled.From(text);
                foreach (RowEvent model in events)
                {
                    string json = model.ToJson();
                    var ev = TestEvent.FromJson(json);
                    bool expected = condition.Evaluate(model);
                    bool general = ev.Matches(program);
                    Assert.True(general == expected, $"'{text}' on {json}: the general path gave {general}, the exact reference {expected}");
                    bool row = ev.MatchesIndexed(program);
                    Assert.True(row == expected, $"'{text}' on {json}: the row steps (every field bound) gave {row}, the exact reference {expected}");
                    bool partly = ev.MatchesIndexed(program, ["n"]);
                    Assert.True(partly == expected, $"'{text}' on {json}: with only .n in the catalog gave {partly}, the exact reference {expected}");
                }
            },
            iter: 20_000,
            threads: 1,
            print: t => $"{t.Item1.Text} on [{string.Join(", ", t.Item2.Select(e => e.ToJson()))}]");
    }

    [Theory]
    [InlineData("""{"n":10.0000000000000001}""", ".n > 10", false)]
    [InlineData("""{"n":10.0000000000000001}""", ".n == 10", true)]
    [InlineData("""{"n":9.9999999999999999}""", ".n < 10", false)]
    [InlineData("""{"n":10.000000000000001}""", ".n > 10", true)]
    [InlineData("""{"n":-0.0}""", ".n == 0", true)]
    [InlineData("""{"n":-0.5}""", ".n < 0", true)]
    [InlineData("""{"n":-0.5}""", ".n > -1", true)]
    [InlineData("""{"n":10.0}""", ".n == 10", true)]
    [InlineData("""{"n":1e1}""", ".n == 10", true)]
    [InlineData("""{"n":9007199254740993}""", ".n > 9007199254740992", true)]
    [InlineData("""{"n":9007199254740993.0}""", ".n > 9007199254740992", false)]
    [InlineData("""{"n":1764151200000000001}""", ".n == 1764151200000000001", true)]
    [InlineData("""{"n":12.5}""", ".n >= 10", true)]
    [InlineData("""{"n":null}""", ".n != 10", false)]
    [InlineData("""{"n":"10"}""", ".n == 10", false)]
    [InlineData("""{"other":1}""", ".n != 10", false)]
    [InlineData("""{"region":"\u0061p"}""", ".region != \"ap\"", false)]
    [InlineData("""{"region":"ap"}""", ".region == \"ap\"", true)]
    [InlineData("""{"region":"eu"}""", ".region != \"ap\"", true)]
    [InlineData("""{"region":7}""", ".region != \"ap\"", false)]
    [InlineData("""{"value":9007199254740993}""", "value == 9007199254740992", true)]
    [InlineData("""{"value":12.5,"region":"us"}""", "value >= 10 && .region != \"ap\"", true)]
    public void RowSteps_OnEdgeCases_GiveTheLanguagesAnswer(string json, string condition, bool expected)
    {
        var ev = TestEvent.FromJson(json);
        FilterProgram program = Compiled.From(condition);
        bool general = ev.Matches(program);
        bool row = ev.MatchesIndexed(program);
        Assert.True(general == expected, $"'{condition}' on {json}: the general path gave {general}, expected {expected}");
        Assert.True(row == expected, $"'{condition}' on {json}: the row steps gave {row}, expected {expected}");
    }

    [Fact]
    public void RowStringSteps_CompareEveryByte_AtEveryLength()
    {
        // The inline compare of short strings loads words that overlap: a difference in any one
        // byte, at any length up to and past the 8 it handles inline, must still be seen.
        for (int length = 0; length <= 12; length++)
        {
            string literal = new string('a', length);
            FilterProgram equal = Compiled.From($".s == \"{literal}\"");
            FilterProgram unequal = Compiled.From($".s != \"{literal}\"");
            var same = TestEvent.FromJson($"{{\"s\":\"{literal}\"}}");
            Assert.True(same.MatchesIndexed(equal) && !same.MatchesIndexed(unequal), $"\"{literal}\" (length {length}) should equal itself on the row");
            for (int i = 0; i < length; i++)
            {
                string other = literal[..i] + "b" + literal[(i + 1)..];
                var differs = TestEvent.FromJson($"{{\"s\":\"{other}\"}}");
                Assert.True(!differs.MatchesIndexed(equal) && differs.MatchesIndexed(unequal), $"\"{other}\" differs from \"{literal}\" at byte {i} but the row steps found them equal");
            }
        }
    }

    /// <summary>One generated event: each member's JSON text, or null when absent.</summary>
    private sealed record RowEvent(string? Type, string? Key, string? Value, string? N, string? S)
    {
        public string ToJson()
        {
            var json = new StringBuilder("{\"ts\":1");
            Member("type", Type is null ? null : $"\"{Type}\"");
            Member("key", Key is null ? null : $"\"{Key}\"");
            Member("value", Value);
            Member("n", N);
            Member("s", S);
            return json.Append('}').ToString();

            void Member(string name, string? raw)
            {
                if (raw is not null)
                {
                    json.Append(",\"").Append(name).Append("\":").Append(raw);
                }
            }
        }

        /// <summary>The operand's JSON text (null when absent); <c>value</c> is a number or absent.</summary>
        public string? Raw(string operand) => operand switch
        {
            "type" => Type is null ? null : $"\"{Type}\"",
            "key" => Key is null ? null : $"\"{Key}\"",
            "value" => Value,
            ".n" => N,
            _ => S,
        };
    }

    private abstract record Condition
    {
        public abstract string Text { get; }

        public abstract bool Evaluate(RowEvent ev);
    }

    private sealed record Not(Condition Operand) : Condition
    {
        public override string Text => $"!({Operand.Text})";

        public override bool Evaluate(RowEvent ev) => !Operand.Evaluate(ev);
    }

    private sealed record Pair(Condition Left, bool And, Condition Right) : Condition
    {
        public override string Text => $"({Left.Text}) {(And ? "&&" : "||")} ({Right.Text})";

        public override bool Evaluate(RowEvent ev) => And ? Left.Evaluate(ev) && Right.Evaluate(ev) : Left.Evaluate(ev) || Right.Evaluate(ev);
    }

    /// <summary>
    /// <c>operand op literal</c>, evaluated from the language's rules with exact arithmetic: a
    /// number token is its exact integer when written without fraction or exponent and within 64
    /// bits (not so for <c>value</c>, which the decoder holds as a double), else its correctly
    /// rounded double; the literal likewise; the two are compared as exact rationals.
    /// </summary>
    private sealed record Leaf(string Operand, string Op, string Literal) : Condition
    {
        public override string Text => $"{Operand} {Op} {Literal}";

        public override bool Evaluate(RowEvent ev)
        {
            string? raw = ev.Raw(Operand);
            if (raw is null)
            {
                return false; // missing: every comparison is false
            }

            bool literalIsString = Literal.StartsWith('"');
            bool rawIsString = raw.StartsWith('"');
            bool rawIsNumber = raw[0] == '-' || char.IsAsciiDigit(raw[0]);
            if (literalIsString)
            {
                if (!rawIsString)
                {
                    return false; // across types
                }

                string text = StringTokens.First(s => s.Raw == raw[1..^1]).Text;
                string literal = Literal[1..^1].Replace("\\\"", "\"", StringComparison.Ordinal);
                bool equal = string.Equals(text, literal, StringComparison.Ordinal);
                return Op == "==" ? equal : !equal;
            }

            if (!rawIsNumber)
            {
                return false;
            }

            BigInteger left = Operand == "value" ? Scaled(double.Parse(raw, CultureInfo.InvariantCulture)) : ExactToken(raw);
            int c = left.CompareTo(ExactToken(Literal));
            return Op switch
            {
                "==" => c == 0,
                "!=" => c != 0,
                "<" => c < 0,
                "<=" => c <= 0,
                ">" => c > 0,
                _ => c >= 0,
            };
        }

        // Every double is an integer multiple of 2^-1074: scaled by 2^1074, all compare as integers.
        private const int Scale = 1074;

        private static BigInteger ExactToken(string token)
        {
            bool integerToken = !token.Contains('.', StringComparison.Ordinal) && !token.Contains('e', StringComparison.OrdinalIgnoreCase);
            return integerToken && long.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long exact)
                ? new BigInteger(exact) << Scale
                : Scaled(double.Parse(token, CultureInfo.InvariantCulture));
        }

        private static BigInteger Scaled(double d)
        {
            long bits = BitConverter.DoubleToInt64Bits(d);
            int exponent = (int)((bits >> 52) & 0x7FF);
            long mantissa = bits & 0xF_FFFF_FFFF_FFFF;
            if (exponent == 0)
            {
                exponent = 1; // subnormal (or zero, either sign)
            }
            else
            {
                mantissa |= 1L << 52;
            }

            var magnitude = new BigInteger(mantissa) << (exponent - 1075 + Scale);
            return bits < 0 ? -magnitude : magnitude;
        }
    }
}
