using System.Globalization;
using System.Text;
using CsCheck;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;
using Xunit;

namespace EventDaemon.Events.Tests.Codecs;

/// <summary>
/// <c>value</c> as the decoder reads it against the runtime's correctly rounded parse: 0–10
/// integer and fraction digits (either side of the eight-digit steps and of Clinger's fast path),
/// a sign, leading zeros, exponents, and the number at every distance from the line's end.
/// </summary>
public class ValueNumberDifferentialTests
{
    [Fact]
    public void RandomDecimals_DecodeToTheCorrectlyRoundedDouble_OrAreRejectedLikeJson()
    {
        Gen.Int.Sample(seed =>
        {
            var random = new Random(seed);
            string number = RandomNumber(random);
            string padding = new(' ', random.Next(0, 20));
            string text = random.Next(2) == 0
                ? $$"""{"value":{{number}}{{padding}}}"""
                : $$"""{"value":{{number}}{{padding}},"msg":"abcdefghijklmnopqrstuvwxyz"}""";
            byte[] line = Encoding.UTF8.GetBytes(text);
            var slot = default(EventSlot);
            bool ok = JsonEventParser.TryParse(line, ref slot, out InvalidReason reason);
            bool valid = IsJsonNumber(number);
            if (!valid)
            {
                Assert.True(!ok && reason == InvalidReason.NotJson, $"{number} is not a JSON number: expected not_json, got {(ok ? "ok" : reason.Label())} for {text}");
                return;
            }

            double expected = double.Parse(number, NumberStyles.Float, CultureInfo.InvariantCulture);
            if (!double.IsFinite(expected))
            {
                Assert.True(!ok && reason == InvalidReason.BadValue, $"{number} overflows: expected bad_value, got {(ok ? "ok" : reason.Label())}");
                return;
            }

            Assert.True(ok, $"{text} should decode, got {reason.Label()}");
            Assert.True(BitConverter.DoubleToInt64Bits(slot.Value) == BitConverter.DoubleToInt64Bits(expected),
                $"{number}: decoded {slot.Value:R}, correctly rounded {expected:R}");
        }, iter: 20_000);
    }

    private static string RandomNumber(Random random)
    {
        var text = new StringBuilder();
        if (random.Next(3) == 0)
        {
            text.Append('-');
        }

        int integerDigits = random.Next(0, 11);
        for (int i = 0; i < integerDigits; i++)
        {
            // Leading zeros now and then (invalid JSON unless the number is a lone 0).
            text.Append((char)('0' + (i == 0 && random.Next(6) != 0 ? random.Next(1, 10) : random.Next(10))));
        }

        if (random.Next(3) != 0)
        {
            text.Append('.');
            int fractionDigits = random.Next(0, 11);
            for (int i = 0; i < fractionDigits; i++)
            {
                text.Append((char)('0' + random.Next(10)));
            }
        }

        if (random.Next(6) == 0)
        {
            text.Append(random.Next(2) == 0 ? 'e' : 'E').Append(random.Next(3) switch { 0 => "+", 1 => "-", _ => "" }).Append(random.Next(0, 400));
        }

        return text.ToString();
    }

    /// <summary>RFC 8259 §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?</summary>
    private static bool IsJsonNumber(string s) =>
        System.Text.RegularExpressions.Regex.IsMatch(s, @"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$");
}
