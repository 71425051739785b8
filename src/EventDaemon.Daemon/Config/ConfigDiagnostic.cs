namespace EventDaemon.Daemon.Config;

/// <summary>One problem found in a config, at the place a person has to edit to fix it.</summary>
/// <param name="Message">A sentence without the position; <see cref="ErrorFormatter"/> adds it.</param>
public sealed record ConfigDiagnostic(ConfigPosition Position, DiagnosticSeverity Severity, string Message)
{
    public bool IsError => Severity == DiagnosticSeverity.Error;

    public override string ToString() => ErrorFormatter.Format(this);
}
