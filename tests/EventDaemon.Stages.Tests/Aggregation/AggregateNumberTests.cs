using System.Globalization;
using System.Text;
using CsCheck;
using EventDaemon.Stages.Aggregation;
using Xunit;

namespace EventDaemon.Stages.Tests.Aggregation;

/// <summary>
/// The numbers an aggregate writes: the shortest round-trip form ("R"), with ".0" on integral
/// values, whether the short-decimal path or the general one writes them.
/// </summary>
public class AggregateNumberTests
{
    [Theory]
    [InlineData(0.0, "0.0")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(42.0, "42.0")]
    [InlineData(-42.5, "-42.5")]
    [InlineData(0.1 + 0.2, "0.30000000000000004")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.00001, "1E-05")]
    [InlineData(0.00123, "0.00123")]
    [InlineData(123456789012345.0, "123456789012345.0")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(99.99, "99.99")]
    [InlineData(1234.5678, "1234.5678")]
    public void Number_WritesTheShortestRoundTripForm(double value, string expected)
    {
        string written = Write(value);
        Assert.True(written == expected, $"{value:R} should be written as {expected}, was {written}");
    }

    [Fact]
    public void Number_AgreesWithTheGeneralForm_OnDecimalsSumsAndRandomBits()
    {
        // Decimals of a few digits (what events carry), their sums (what sum writes), and any double.
        Gen<double> decimals = Gen.Select(Gen.Long[-10_000_000_000L, 10_000_000_000L], Gen.Int[0, 8], (m, k) => m / Math.Pow(10, k));
        Gen<double> sums = Gen.Select(decimals, decimals, decimals, (a, b, c) => a + b + c);
        Gen<double> any = Gen.Double.Where(double.IsFinite);
        Gen.OneOf(decimals, sums, any).Sample(value =>
        {
            string written = Write(value);
            string general = Reference(value);
            Assert.True(written == general, $"{value:R}: written {written}, the general form is {general}");
        }, iter: 200_000);
    }

    private static string Write(double value)
    {
        var d = new byte[64];
        int n = 0;
        AggregateOutput.Number(d, ref n, value);
        return Encoding.UTF8.GetString(d, 0, n);
    }

    private static string Reference(double value)
    {
        string r = value.ToString("R", CultureInfo.InvariantCulture);
        return r.AsSpan().IndexOfAny(".eE") < 0 ? r + ".0" : r;
    }
}
