namespace EventDaemon.Stages.Transforms;

/// <summary>An enrich table that cannot be loaded: the message names the file, the line when there is one, and the fix.</summary>
public sealed class EnrichTableException(string message) : Exception(message);
