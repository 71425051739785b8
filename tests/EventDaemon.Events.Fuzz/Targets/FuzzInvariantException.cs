namespace EventDaemon.Events.Fuzz.Targets;

/// <summary>A decoder broke one of its documented invariants: the fuzzer reports the input as a crash.</summary>
public sealed class FuzzInvariantException(string message) : Exception(message);
