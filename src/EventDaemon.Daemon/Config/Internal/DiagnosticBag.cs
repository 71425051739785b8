namespace EventDaemon.Daemon.Config.Internal;

/// <summary>Collects diagnostics while a config is checked, so all of them are reported at once.</summary>
internal sealed class DiagnosticBag
{
    private readonly List<ConfigDiagnostic> _items = [];
    private readonly HashSet<(ConfigPosition, string)> _seen = [];
    private HashSet<int>? _syntaxErrorLines;

    public bool HasErrors => ErrorCount > 0;

    /// <summary>Binders compare it before and after a table to know whether that table was valid.</summary>
    public int ErrorCount { get; private set; }

    public void Error(ConfigPosition position, string message) => Add(position, DiagnosticSeverity.Error, message);

    public void Warning(ConfigPosition position, string message) => Add(position, DiagnosticSeverity.Warning, message);

    /// <summary>
    /// Called once the parser's diagnostics are in: from then on, findings on a line with a syntax
    /// error are dropped, since the parser's recovery on that line (a value read as a key, say)
    /// would only produce noise.
    /// </summary>
    /// <param name="hiddenLines">Lines of syntax errors not reported (follow-on errors of the first one).</param>
    public void EndOfSyntaxErrors(IEnumerable<int> hiddenLines) =>
        _syntaxErrorLines = [.. _items.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.Position.Line), .. hiddenLines];

    public void Add(ConfigPosition position, DiagnosticSeverity severity, string message)
    {
        if (_syntaxErrorLines?.Contains(position.Line) == true || !_seen.Add((position, message)))
        {
            return;
        }

        _items.Add(new ConfigDiagnostic(position, severity, message));
        if (severity == DiagnosticSeverity.Error)
        {
            ErrorCount++;
        }
    }

    /// <summary>By position; diagnostics at the same position keep the order they were found in.</summary>
    public IReadOnlyList<ConfigDiagnostic> Sorted() => [.. _items.OrderBy(d => d.Position)];
}
