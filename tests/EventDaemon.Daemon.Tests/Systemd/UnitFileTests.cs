using Xunit;

namespace EventDaemon.Daemon.Tests.Systemd;

public sealed class UnitFileTests
{
    private const string SystemdAnalyze = "/usr/bin/systemd-analyze";

    /// <summary>
    /// <c>systemd-analyze verify</c> exits 0 even for unknown keys and bad values, and only prints
    /// them; so any output at all fails the test. It also insists that ExecStart names an existing
    /// executable, and /usr/local/bin/eventd exists only after installing: the unit is verified as a
    /// copy, in a directory of its own, whose ExecStart and validating ExecReload run /bin/true
    /// instead. Every other line is the shipped one.
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
            File.WriteAllLines(unit, lines.Select(l =>
                l.StartsWith("ExecStart=", StringComparison.Ordinal) ? "ExecStart=/bin/true"
                : l.StartsWith("ExecReload=/usr/local/bin/eventd ", StringComparison.Ordinal) ? "ExecReload=/bin/true"
                : l));
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
            ("ExecReload", "/usr/local/bin/eventd validate --config /etc/eventd/eventd.toml"),
            ("ExecReload", "/bin/kill -HUP $MAINPID"),
            ("SystemCallFilter", "@system-service"),
            ("SystemCallErrorNumber", "EPERM"),
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

        List<string> reloads = settings["ExecReload"].ToList();
        Assert.True(reloads.Count == 2 && reloads[0].Contains(" validate ", StringComparison.Ordinal),
            $"ExecReload must validate before it signals, so a bad config fails 'systemctl reload' (has: {string.Join(" ; ", reloads)})");
    }

    /// <summary>
    /// mlock (lock_memory) and sched_setaffinity (consumer_cpus) must survive the unit's system-call
    /// filter: asked of systemd itself, so a change of the filter or of systemd's groups shows here.
    /// </summary>
    [Theory]
    [InlineData("mlock")]
    [InlineData("mlock2")]
    [InlineData("munlock")]
    [InlineData("sched_setaffinity")]
    [InlineData("setrlimit")]
    public void ShippedUnit_SystemCallFilter_AllowsWhatTheDaemonNeeds(string syscall)
    {
        string[] filters = File.ReadAllLines(Repository.File("scripts/eventd.service"))
            .Where(l => l.StartsWith("SystemCallFilter=", StringComparison.Ordinal))
            .Select(l => l["SystemCallFilter=".Length..])
            .ToArray();
        Assert.True(filters.Length > 0, "the unit has no SystemCallFilter=");
        foreach (string filter in filters)
        {
            bool deny = filter.StartsWith('~');
            bool listed = filter.TrimStart('~').Split(' ').Any(set => Expand(set).Contains(syscall));
            Assert.True(deny ? !listed : listed, $"SystemCallFilter={filter} {(deny ? "denies" : "does not allow")} {syscall}");
        }
    }

    /// <summary>Every system call of a set, groups nested in it included, as systemd-analyze lists them.</summary>
    private static HashSet<string> Expand(string set)
    {
        if (!set.StartsWith('@'))
        {
            return [set];
        }

        ProcessResult result = Run.Program(SystemdAnalyze, ["syscall-filter", set]);
        Assert.True(result.ExitCode == 0, $"systemd-analyze syscall-filter {set} failed:\n{result.Output}");
        var calls = new HashSet<string>(StringComparer.Ordinal);
        foreach (string line in result.Output.Split('\n').Skip(1).Select(l => l.Trim()))
        {
            if (line.StartsWith('@'))
            {
                calls.UnionWith(Expand(line));
            }
            else if (line.Length > 0 && !line.StartsWith('#'))
            {
                calls.Add(line);
            }
        }

        return calls;
    }
}
