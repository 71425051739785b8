namespace EventDaemon.Daemon.Config.Internal;

/// <summary>
/// A component as far as the pipeline graph needs it, recorded even when its settings have errors,
/// so that one bad component does not also make every reference to it "unknown".
/// </summary>
internal sealed class ComponentDraft(string name, ComponentKind kind, ConfigPosition position)
{
    public string Name { get; } = name;

    public ComponentKind Kind { get; } = kind;

    public ConfigPosition Position { get; } = position;

    /// <summary>The <c>inputs</c> entries as written, each with its position.</summary>
    public List<(string Text, ConfigPosition Position)> Inputs { get; } = [];

    public bool IsRoute { get; set; }

    /// <summary>A route's outputs; <c>null</c> when its <c>routes</c> had errors (references to outputs are then not checked).</summary>
    public List<string>? RouteOutputs { get; set; }

    /// <summary>The bound settings; <c>null</c> when they had errors.</summary>
    public ComponentConfig? Config { get; set; }
}
