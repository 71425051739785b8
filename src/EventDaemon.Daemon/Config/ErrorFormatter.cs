namespace EventDaemon.Daemon.Config;

/// <summary>
/// Renders diagnostics the way compilers do, <c>file:line:col: message</c>, so editors and CI
/// annotate them without configuration. Warnings say so after the position
/// (<c>file:line:col: warning: message</c>); a file that could not be read has no line
/// (<c>file: message</c>).
/// </summary>
public static class ErrorFormatter
{
    public static string Format(ConfigDiagnostic diagnostic)
    {
        ArgumentNullException.ThrowIfNull(diagnostic);
        string severity = diagnostic.Severity == DiagnosticSeverity.Warning ? "warning: " : "";
        return $"{diagnostic.Position}: {severity}{diagnostic.Message}";
    }

    /// <summary>One line per diagnostic, in the order given, joined with <c>\n</c> and no trailing newline.</summary>
    public static string Format(IEnumerable<ConfigDiagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(diagnostics);
        return string.Join('\n', diagnostics.Select(Format));
    }

    /// <summary>Writes one line per diagnostic.</summary>
    public static void Write(TextWriter writer, IEnumerable<ConfigDiagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(diagnostics);
        foreach (ConfigDiagnostic diagnostic in diagnostics)
        {
            writer.WriteLine(Format(diagnostic));
        }
    }
}
