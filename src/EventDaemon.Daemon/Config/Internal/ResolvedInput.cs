namespace EventDaemon.Daemon.Config.Internal;

/// <summary>One entry of a stage's inputs, resolved to the component (and route output) it reads.</summary>
internal sealed record ResolvedInput(ComponentDraft From, string? Output, ConfigPosition At);
