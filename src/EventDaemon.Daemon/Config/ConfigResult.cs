using System.Diagnostics.CodeAnalysis;

namespace EventDaemon.Daemon.Config;

/// <summary>
/// What loading a config produced: the model when it has no errors, and every diagnostic either
/// way (a valid config can still carry warnings), sorted by position.
/// </summary>
public sealed class ConfigResult
{
    internal ConfigResult(EventdConfig? config, IReadOnlyList<ConfigDiagnostic> diagnostics)
    {
        Config = config;
        Diagnostics = diagnostics;
    }

    /// <summary>The validated model; <c>null</c> exactly when <see cref="Errors"/> is not empty.</summary>
    public EventdConfig? Config { get; }

    public IReadOnlyList<ConfigDiagnostic> Diagnostics { get; }

    [MemberNotNullWhen(true, nameof(Config))]
    public bool Succeeded => Config is not null;

    public IEnumerable<ConfigDiagnostic> Errors => Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error);

    public IEnumerable<ConfigDiagnostic> Warnings => Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Warning);
}
