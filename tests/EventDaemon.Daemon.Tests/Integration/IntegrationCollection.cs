using Xunit;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary>
/// The tests that drive the published <c>artifacts/eventd</c> as a separate process. They run one
/// at a time, and apart from every other collection: each starts a daemon whose consumer threads
/// want the machine's cores, and timing-sensitive behaviour (stall detection, backpressure) must
/// not be starved by unit tests running beside it.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class IntegrationCollection
{
    public const string Name = "eventd process";
}
