namespace EventDaemon.Daemon.Config;

public enum DiagnosticSeverity
{
    /// <summary>The config is rejected: <c>eventd validate</c> exits 1, <c>reload</c> keeps the old config.</summary>
    Error,

    /// <summary>The config runs, but probably not as meant (a component that feeds no sink).</summary>
    Warning,
}
