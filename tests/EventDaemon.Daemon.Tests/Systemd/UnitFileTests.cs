using Xunit;

namespace EventDaemon.Daemon.Tests.Systemd;

public sealed class UnitFileTests
{
    private const string SystemdAnalyze = "/usr/bin/systemd-analyze";

    /// <summary>
    /// <c>systemd-analyze verify</c> exits 0 even for unknown keys and bad values, and only prints
    /// them; so any output at all fails the test. It also insists that ExecStart names an existing
    /// executable, and /usr/local/bin/eventd exists only after installing: the unit is verified as a
    /// copy, in a directory of its own, whose ExecStart runs /bin/true instead. Every other line is
    /// the shipped one.
    /// </summary>
    [Fact]
    public void ShippedUnit_PassesSystemdAnalyzeVerify_WithoutAnyOutput()
    {
        Assert.True(File.Exists(SystemdAnalyze), "systemd-analyze is not installed (scripts/deps.sh installs the systemd package)");
        string[] lines = File.ReadAllLines(Repository.File("scripts/eventd.service"));
        int execStarts = lines.Count(l => l.StartsWith("ExecStart=/usr/local/bin/eventd ", StringComparison.Ordinal));
        Assert.True(execStarts == 1, $"expected one ExecStart=/usr/local/bin/eventd line, found {execStarts}");

        string directory = Directory.CreateTempSubdirectory("eventd-unit-").FullName;
        try
        {
            string unit = Path.Combine(directory, "eventd.service");
            File.WriteAllLines(unit, lines.Select(l => l.StartsWith("ExecStart=", StringComparison.Ordinal) ? "ExecStart=/bin/true" : l));
            ProcessResult result = Run.Program(SystemdAnalyze, ["verify", unit]);
            Assert.True(result.ExitCode == 0 && result.Output.Length == 0,
                $"systemd-analyze verify exited {result.ExitCode} and printed:\n{result.Output}");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void ShippedUnit_HasTheSettingsTheDaemonRelies_On()
    {
        var settings = File.ReadAllLines(Repository.File("scripts/eventd.service"))
            .Where(l => l.Contains('=', StringComparison.Ordinal) && !l.StartsWith('#'))
            .Select(l => l.Split('=', 2))
            .ToLookup(p => p[0], p => p[1]);
        (string Key, string Value)[] required =
        [
            ("Type", "notify"),
            ("NotifyAccess", "main"),
            ("ExecStart", "/usr/local/bin/eventd run --config /etc/eventd/eventd.toml"),
            ("ExecReload", "/bin/kill -HUP $MAINPID"),
            ("WatchdogSec", "10"),
            ("Restart", "on-failure"),
            ("DynamicUser", "yes"),
            ("RuntimeDirectory", "eventd"),
            ("StateDirectory", "eventd"),
            ("LimitMEMLOCK", "infinity"),
            ("AmbientCapabilities", "CAP_IPC_LOCK"),
            ("CapabilityBoundingSet", "CAP_IPC_LOCK"),
            ("MemoryDenyWriteExecute", "yes"),
            ("ProtectSystem", "strict"),
            ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
        ];
        foreach ((string key, string value) in required)
        {
            Assert.True(settings[key].Contains(value), $"{key}={value} missing from the unit (has: {string.Join(", ", settings[key])})");
        }
    }
}
