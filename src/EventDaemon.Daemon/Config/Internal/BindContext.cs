using System.Text;
using Tomlyn.Syntax;

namespace EventDaemon.Daemon.Config.Internal;

/// <summary>What every part of binding shares: where messages go and how paths and conditions are checked.</summary>
internal sealed class BindContext(
    string file, string baseDirectory, DiagnosticBag diagnostics, bool hasSyntaxErrors, IConditionValidator? conditions, bool checkMachine = false)
{
    /// <summary>sun_path is 108 bytes including the terminating NUL.</summary>
    private const int MaxUnixSocketPathBytes = 107;

    public string File { get; } = file;

    public DiagnosticBag Diagnostics { get; } = diagnostics;

    /// <summary>
    /// After a TOML syntax error the parser skipped text, so what looks absent may only be unreadable:
    /// checks that depend on something being absent (missing keys, unknown inputs, cycles,
    /// reachability) are left out, and everything present is still checked.
    /// </summary>
    public bool HasSyntaxErrors { get; } = hasSyntaxErrors;

    /// <summary>
    /// Also check what <c>run</c> will open on this machine (enrich tables, file sink paths,
    /// <c>state_dir</c>, memory) and what this build runs: set for a config file being validated,
    /// run or reloaded, not for a config text checked on its own (see <see cref="ConfigLoader.Parse"/>).
    /// </summary>
    public bool CheckMachine { get; } = checkMachine;

    public ConfigPosition Start => new(File, 1, 1);

    public void Error(ConfigPosition position, string message) => Diagnostics.Error(position, message);

    /// <summary>Relative paths are relative to the config file, not to the daemon's working directory (<c>/</c> under systemd).</summary>
    public string ResolvePath(string path) =>
        Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(baseDirectory, path));

    /// <summary>Reports a socket path the kernel would refuse; <c>true</c> when it fits.</summary>
    public bool CheckSocketPath(string key, string resolved, ConfigPosition at)
    {
        int bytes = Encoding.UTF8.GetByteCount(resolved);
        if (bytes <= MaxUnixSocketPathBytes)
        {
            return true;
        }

        Error(at, $"{key}: \"{resolved}\" is {bytes} bytes long; a Unix socket path can be at most {MaxUnixSocketPathBytes}");
        return false;
    }

    /// <summary>Runs the condition validator, placing its error inside the string literal in the file.</summary>
    public void CheckCondition(string key, string condition, TomlValue value)
    {
        if (string.IsNullOrWhiteSpace(condition))
        {
            Error(value.Position, $"{key}: the condition is empty");
            return;
        }

        if (conditions?.Check(condition) is not { } error)
        {
            return;
        }

        ConfigPosition at = value.Syntax is StringValueSyntax literal
            ? StringLiteralMap.Locate(literal, File, error.Line, error.Column)
            : value.Position;
        Error(at, $"{key}: {error.Message}");
    }
}
