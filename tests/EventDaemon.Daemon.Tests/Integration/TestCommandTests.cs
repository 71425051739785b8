using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary><c>eventd test</c> as an operator runs it: the shipped example passes, a wrong expectation fails with a diff.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class TestCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edt-testcmd-").FullName;

    private static string ExamplePath => Path.Combine(EventdBinary.RepoRoot, "scripts", "example-tests.toml");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Test_OfTheExample_PassesEveryTest_ExitZero_AndValidateAcceptsIt()
    {
        CliResult result = EventdBinary.Run("test", "--config", ExamplePath);
        Assert.True(result.ExitCode == 0, $"the example's tests should pass:\n{result.Describe()}");
        Assert.True(result.Stdout.Contains("3 tests passed", StringComparison.Ordinal), result.Describe());
        CliResult validate = EventdBinary.Run("validate", "--config", ExamplePath);
        Assert.True(validate.ExitCode == 0, $"validate accepts a config with [[tests]]:\n{validate.Describe()}");
    }

    [Fact]
    public void Test_WithAWrongExpectation_ExitsOne_AndPrintsExpectedAgainstGot()
    {
        string path = Path.Combine(_dir, "eventd.toml");
        File.WriteAllText(path, File.ReadAllText(ExamplePath).Replace("\"count\":2,\"sum\":12", "\"count\":2,\"sum\":13", StringComparison.Ordinal));
        CliResult result = EventdBinary.Run("test", "--config", path);
        Assert.True(result.ExitCode == 1, $"a failing test exits 1:\n{result.Describe()}");
        Assert.True(result.Stdout.Contains("FAILED purchases are summed per user and second", StringComparison.Ordinal), result.Describe());
        Assert.True(result.Stdout.Contains("  - {\"window_start\":1000000000,\"key\":\"ann\",\"count\":2,\"sum\":13", StringComparison.Ordinal)
            && result.Stdout.Contains("  + {", StringComparison.Ordinal), $"the diff shows expected (-) and got (+):\n{result.Describe()}");
        Assert.True(result.Stdout.Contains("1 of 3 tests failed", StringComparison.Ordinal), result.Describe());
    }

    [Fact]
    public void Test_WithABadTestTable_IsAValidateStyleError_ExitOne()
    {
        string path = Path.Combine(_dir, "eventd.toml");
        File.WriteAllText(path, File.ReadAllText(ExamplePath).Replace("outputs.from = \"purchases\"", "outputs.from = \"purchase\"", StringComparison.Ordinal));
        CliResult result = EventdBinary.Run("test", "--config", path);
        Assert.True(result.ExitCode == 1, result.Describe());
        Assert.True(result.StderrLines.Length == 1 && result.StderrLines[0].StartsWith(path + ":", StringComparison.Ordinal)
            && result.StderrLines[0].Contains("unknown transform 'purchase'", StringComparison.Ordinal), $"one file:line:col line:\n{result.Describe()}");
    }
}
