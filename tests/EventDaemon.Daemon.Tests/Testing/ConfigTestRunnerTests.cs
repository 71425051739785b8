using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Hosting;
using EventDaemon.Daemon.Testing;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;

namespace EventDaemon.Daemon.Tests.Testing;

/// <summary>[[tests]] tables read and run in-process on the real stages, against the shipped example config.</summary>
public sealed class ConfigTestRunnerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edt-tests-").FullName;

    private static string Example => File.ReadAllText(Path.Combine(EventdBinary.RepoRoot, "scripts", "example-tests.toml"));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ExampleConfig_EveryTestPasses_OnFilterAggregateAndRoute()
    {
        (EventdConfig config, List<ConfigTest> tests) = Load(Example);
        Assert.True(tests.Count == 3, $"the example has three tests, read {tests.Count}");
        foreach (ConfigTest test in tests)
        {
            TestResult result = ConfigTestRunner.Run(config, test);
            Assert.True(result.Passed, $"'{test.Name}' failed:\n{string.Join("\n", result.Failures)}\ngot:\n{string.Join("\n", result.Got)}");
        }
    }

    [Fact]
    public void WrongExpectation_Fails_WithExpectedAndGotSideBySide()
    {
        (EventdConfig config, List<ConfigTest> tests) = Load(Example.Replace("\"count\":2,\"sum\":12", "\"count\":2,\"sum\":13", StringComparison.Ordinal));
        TestResult result = ConfigTestRunner.Run(config, tests.Single(t => t.From == "per_user"));
        string diff = string.Join("\n", result.Failures);
        Assert.False(result.Passed, "a wrong sum should fail the test");
        Assert.True(diff.Contains("- {\"window_start\":1000000000,\"key\":\"ann\",\"count\":2,\"sum\":13", StringComparison.Ordinal), $"the expected line, marked -:\n{diff}");
        Assert.True(diff.Contains("\n  + {", StringComparison.Ordinal) && diff.Contains("\"sum\":12", StringComparison.Ordinal), $"the line got, marked +:\n{diff}");
    }

    [Fact]
    public void ProcessingTimeAggregate_RunsOnTheEventsTime_NotTheClock()
    {
        (EventdConfig config, List<ConfigTest> tests) = Load(Example.Replace("metrics = [\"count\", \"sum\", \"max\"]", "metrics = [\"count\", \"sum\", \"max\"]\ntime = \"processing\"", StringComparison.Ordinal));
        TestResult result = ConfigTestRunner.Run(config, tests.Single(t => t.From == "per_user"));
        Assert.True(result.Passed, $"windows should come from ts even for time = \"processing\":\n{string.Join("\n", result.Failures)}");
    }

    [Fact]
    public void FailingCondition_NamesTheEventThatBreaksIt()
    {
        (EventdConfig config, List<ConfigTest> tests) = Load(Example.Replace("'key != \"ann\"'", "'key != \"cy\"'", StringComparison.Ordinal));
        TestResult result = ConfigTestRunner.Run(config, tests.Single(t => t.From == "by_size.big"));
        Assert.False(result.Passed, "an output with key cy breaks key != \"cy\"");
        Assert.True(result.Failures.Count == 1 && result.Failures[0].Contains("\"key\":\"cy\"", StringComparison.Ordinal),
            $"one failure, naming cy's event:\n{string.Join("\n", result.Failures)}");
    }

    [Theory]
    [InlineData("outputs.from = \"purchases\"", "outputs.from = \"purchase\"", "outputs.from: unknown transform 'purchase' (did you mean 'purchases'?)")]
    [InlineData("outputs.from = \"by_size.big\"", "outputs.from = \"by_size.huge\"", "outputs.from: route 'by_size' has no output 'huge'")]
    [InlineData("inputs.in = [", "inputs.inn = [", "inputs: unknown source 'inn' (did you mean 'in'?)")]
    [InlineData("outputs.conditions = ['value >= 100'", "outputs.conditions = ['value >=> 100'", "outputs.conditions[0]: ")]
    [InlineData("'{\"ts\":1000000000,\"type\":\"purchase\",\"key\":\"ann\",\"value\":5}',\n  '{\"ts\":1100000000,\"type\":\"view\"", "'{\"type\":\"purchase\",\"key\":\"ann\",\"value\":5}',\n  '{\"ts\":1100000000,\"type\":\"view\"", "the event has no \"ts\"")]
    public void BadTestTable_IsAFileLineColumnError(string from, string to, string expected)
    {
        string toml = Example.Replace(from, to, StringComparison.Ordinal);
        Assert.True(toml != Example, $"the replacement of {from} did not apply");
        string path = Path.Combine(_dir, "eventd.toml");
        File.WriteAllText(path, toml);
        ConfigResult loaded = DaemonHost.Validate(path);
        Assert.True(loaded.Config is not null, $"[[tests]] must not stop the config itself from validating:\n{ErrorFormatter.Format(loaded.Diagnostics)}");
        (List<ConfigTest> _, IReadOnlyList<ConfigDiagnostic> errors) = TestSuiteLoader.Load(path, loaded.Config!);
        string text = ErrorFormatter.Format(errors);
        Assert.True(errors.Count >= 1 && errors.All(e => ErrorFormatter.Format(e).StartsWith(path + ":", StringComparison.Ordinal) && e.Message.Contains(expected, StringComparison.Ordinal)),
            $"expected file:line:col errors containing '{expected}' (one per test it applies to), got:\n{text}");
    }

    private (EventdConfig Config, List<ConfigTest> Tests) Load(string toml)
    {
        string path = Path.Combine(_dir, "eventd.toml");
        File.WriteAllText(path, toml);
        ConfigResult loaded = DaemonHost.Validate(path);
        Assert.True(loaded.Config is not null, $"the example should validate:\n{ErrorFormatter.Format(loaded.Diagnostics)}");
        (List<ConfigTest> tests, IReadOnlyList<ConfigDiagnostic> errors) = TestSuiteLoader.Load(path, loaded.Config!);
        Assert.True(errors.Count == 0, $"the tests should load:\n{ErrorFormatter.Format(errors)}");
        return (loaded.Config!, tests);
    }
}
