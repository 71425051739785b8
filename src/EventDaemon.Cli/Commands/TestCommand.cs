using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Hosting;
using EventDaemon.Daemon.Testing;

namespace EventDaemon.Cli.Commands;

/// <summary>
/// <c>eventd test --config PATH</c>: runs the config's <c>[[tests]]</c> on the real stage code,
/// with time taken from the test's events. Exit 0 when every test passes; 1 when one fails (with
/// a diff of expected and got), when the config or a test table has an error (as
/// <c>validate</c> prints them), or when the config has no tests.
/// </summary>
public static class TestCommand
{
    public static int Run(string configPath, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(configPath);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        if (!File.Exists(configPath))
        {
            stderr.WriteLine($"eventd: config file '{configPath}' not found");
            return 1;
        }

        // The config is checked as validate and run check it: a test of a config that would not run is no test.
        ConfigResult loaded = DaemonHost.Validate(configPath);
        if (loaded.Config is not { } config)
        {
            ErrorFormatter.Write(stderr, loaded.Diagnostics);
            return 1;
        }

        (List<ConfigTest> tests, IReadOnlyList<ConfigDiagnostic> errors) = TestSuiteLoader.Load(configPath, config);
        if (errors.Count > 0)
        {
            ErrorFormatter.Write(stderr, errors);
            return 1;
        }

        if (tests.Count == 0)
        {
            stderr.WriteLine($"{configPath}: no [[tests]] tables to run (see 'Testing a config' in the README)");
            return 1;
        }

        int failed = 0;
        foreach (ConfigTest test in tests)
        {
            TestResult result = ConfigTestRunner.Run(config, test);
            if (result.Passed)
            {
                stdout.WriteLine($"ok     {test.Name} ({result.Got.Count} events out of '{test.From}')");
                continue;
            }

            failed++;
            stdout.WriteLine($"FAILED {test.Name} ({test.Position})");
            foreach (string failure in result.Failures)
            {
                stdout.WriteLine("  " + failure.Replace("\n", "\n  ", StringComparison.Ordinal));
            }
        }

        stdout.WriteLine(failed == 0
            ? $"{tests.Count} tests passed"
            : $"{failed} of {tests.Count} tests failed");
        return failed == 0 ? 0 : 1;
    }
}
