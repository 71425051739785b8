using EventDaemon.Daemon.Config;
using Xunit;

namespace EventDaemon.Daemon.Tests.Systemd;

/// <summary>scripts/install.sh into a staging root (DESTDIR), with a stand-in binary (EVENTD_BINARY).</summary>
public sealed class InstallScriptTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("eventd-install-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public void Install_PlacesBinaryUnitAndConfig_UnderDestdir()
    {
        string binary = FakeBinary();
        string root = Path.Combine(_work, "root");
        ProcessResult result = Install(root, binary);
        Assert.True(result.ExitCode == 0, $"install.sh failed ({result.ExitCode}):\n{result.Output}");

        string installed = Path.Combine(root, "usr/local/bin/eventd");
        Assert.True(File.Exists(installed), $"no binary at {installed}:\n{result.Output}");
        Assert.Equal(File.ReadAllBytes(binary), File.ReadAllBytes(installed));
        Assert.True(File.GetUnixFileMode(installed).HasFlag(UnixFileMode.UserExecute | UnixFileMode.OtherExecute), "the installed binary is not executable");
        Assert.True(File.Exists(Path.Combine(root, "usr/lib/debug/usr/local/bin/eventd.dbg")), "eventd.dbg beside the binary was not installed for perf");
        Assert.Equal(
            File.ReadAllText(Repository.File("scripts/eventd.service")),
            File.ReadAllText(Path.Combine(root, "etc/systemd/system/eventd.service")));
        Assert.Equal(
            File.ReadAllText(Repository.File("scripts/eventd.toml")),
            File.ReadAllText(Path.Combine(root, "etc/eventd/eventd.toml")));
    }

    [Fact]
    public void Reinstall_KeepsAnEditedConfig_AndReplacesTheBinary()
    {
        string root = Path.Combine(_work, "root");
        Assert.True(Install(root, FakeBinary("v1")).ExitCode == 0, "first install failed");
        string config = Path.Combine(root, "etc/eventd/eventd.toml");
        File.WriteAllText(config, "# edited by the operator\n");

        ProcessResult result = Install(root, FakeBinary("v2"));
        Assert.True(result.ExitCode == 0, $"second install failed:\n{result.Output}");
        Assert.Equal("# edited by the operator\n", File.ReadAllText(config));
        Assert.Equal("v2", File.ReadAllText(Path.Combine(root, "usr/local/bin/eventd")));
        Assert.True(result.Stdout.Contains("kept existing", StringComparison.Ordinal), $"the script did not say it kept the config:\n{result.Output}");
    }

    [Fact]
    public void Prefix_MovesTheBinary_AndTheUnitFollows()
    {
        string root = Path.Combine(_work, "root");
        ProcessResult result = Install(root, FakeBinary(), ("PREFIX", "/opt/eventd"));
        Assert.True(result.ExitCode == 0, $"install.sh failed:\n{result.Output}");
        Assert.True(File.Exists(Path.Combine(root, "opt/eventd/bin/eventd")), "binary not under $PREFIX/bin");
        string unit = File.ReadAllText(Path.Combine(root, "etc/systemd/system/eventd.service"));
        Assert.True(unit.Contains("\nExecStart=/opt/eventd/bin/eventd run --config /etc/eventd/eventd.toml\n", StringComparison.Ordinal), $"ExecStart does not follow PREFIX:\n{unit}");
    }

    [Fact]
    public void MissingBinary_FailsWithAClearLine()
    {
        ProcessResult result = Install(Path.Combine(_work, "root"), Path.Combine(_work, "nothing-here"));
        Assert.True(result.ExitCode != 0, "install.sh succeeded without a binary");
        Assert.True(result.Stderr.Contains("make publish", StringComparison.Ordinal), $"the error does not say how to get the binary:\n{result.Output}");
        Assert.False(Directory.Exists(Path.Combine(_work, "root")), "install.sh created files before failing");
    }

    [Fact]
    public void ShippedDefaultConfig_ValidatesWithoutDiagnostics()
    {
        string path = Repository.File("scripts/eventd.toml");
        ConfigResult result = ConfigLoader.Load(path);
        Assert.True(result.Succeeded && result.Diagnostics.Count == 0,
            $"scripts/eventd.toml does not validate cleanly:\n{ErrorFormatter.Format(result.Diagnostics)}");
    }

    private string FakeBinary(string content = "#!/bin/sh\necho fake eventd\n")
    {
        string directory = Path.Combine(_work, "artifacts-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        string binary = Path.Combine(directory, "eventd");
        File.WriteAllText(binary, content);
        File.WriteAllText(binary + ".dbg", "symbols");
        return binary;
    }

    /// <summary>Runs the script with /bin/sh (dash on Debian, so bash-only syntax fails here).</summary>
    private static ProcessResult Install(string destdir, string binary, params (string Key, string Value)[] extra)
    {
        var environment = new Dictionary<string, string> { ["DESTDIR"] = destdir, ["EVENTD_BINARY"] = binary };
        foreach ((string key, string value) in extra)
        {
            environment[key] = value;
        }

        return Run.Program("/bin/sh", [Repository.File("scripts/install.sh")], environment);
    }
}
