using Xunit;

namespace EventDaemon.Stages.Tests.Transforms;

/// <summary>
/// Tests that assert no garbage collection ran while they measured: they run alone, since a
/// collection triggered by another test's thread would count against them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationMeasurements
{
    public const string Name = "Allocation measurements";
}
