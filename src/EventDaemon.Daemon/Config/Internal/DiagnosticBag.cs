namespace EventDaemon.Daemon.Config.Internal;

/// <summary>Collects diagnostics while a config is checked, so all of them are reported at once.</summary>
internal sealed class DiagnosticBag
{
    private readonly List<ConfigDiagnostic> _items = [];
    private readonly HashSet<(ConfigPosition, string)> _seen = [];

    public bool HasErrors { get; private set; }

    public void Error(ConfigPosition position, string message) => Add(position, DiagnosticSeverity.Error, message);

    public void Warning(ConfigPosition position, string message) => Add(position, DiagnosticSeverity.Warning, message);

    public void Add(ConfigPosition position, DiagnosticSeverity severity, string message)
    {
        if (!_seen.Add((position, message)))
        {
            return;
        }

        _items.Add(new ConfigDiagnostic(position, severity, message));
        HasErrors |= severity == DiagnosticSeverity.Error;
    }

    /// <summary>By position; diagnostics at the same position keep the order they were found in.</summary>
    public IReadOnlyList<ConfigDiagnostic> Sorted() => [.. _items.OrderBy(d => d.Position)];
}
