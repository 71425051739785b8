using Xunit;

namespace EventDaemon.Events.Tests.Support;

/// <summary>
/// Tests that read process-wide counters (GC collection counts) run alone, after the parallel
/// ones, so another test's garbage cannot be mistaken for theirs.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "serial: process-wide GC counters";
}
