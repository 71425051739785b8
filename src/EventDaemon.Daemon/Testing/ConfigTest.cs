using EventDaemon.Daemon.Config;

namespace EventDaemon.Daemon.Testing;

/// <summary>One <c>[[tests]]</c> table: events fed to sources, the stage watched, what must come out of it.</summary>
/// <param name="Inputs">Per source, in the order written: the JSON events it receives.</param>
/// <param name="From">The transform watched, or a route's output (<c>route.name</c>).</param>
/// <param name="Expected">Events that must come out, in order; each compared on the fields it names.</param>
/// <param name="Conditions">Filter expressions every event that comes out must satisfy.</param>
/// <param name="Count">How many events must come out, when given.</param>
public sealed record ConfigTest(
    string Name,
    ConfigPosition Position,
    IReadOnlyList<TestInput> Inputs,
    string From,
    IReadOnlyList<string> Expected,
    IReadOnlyList<string> Conditions,
    int? Count);

/// <summary>The events one source receives in a test.</summary>
public sealed record TestInput(string Source, IReadOnlyList<string> Events);
