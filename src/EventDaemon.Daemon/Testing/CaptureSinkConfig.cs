using EventDaemon.Daemon.Config;

namespace EventDaemon.Daemon.Testing;

/// <summary>A sink that only <c>eventd test</c> places: never written in a config, never run by the daemon.</summary>
public sealed record CaptureSinkConfig(string Name, ConfigPosition Position, EquatableArray<string> Inputs, CaptureTransport Transport)
    : SinkConfig(Name, Position, Inputs)
{
    public override string TypeName => "capture";
}
