using EventDaemon.Cli.CommandLine;
using EventDaemon.Cli.Graph;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Hosting;

namespace EventDaemon.Cli.Commands;

/// <summary><c>eventd graph [--config PATH] [--format dot|text]</c>: the topology and its threads, planned, never built.</summary>
internal static class GraphCommand
{
    public static int Run(Invocation invocation)
    {
        string? path = invocation.Value("--config");
        if (path is not null && !File.Exists(path))
        {
            Console.Error.WriteLine($"eventd: config file '{path}' not found: pass an existing file to --config, or omit it to draw the embedded default");
            return 1;
        }

        ConfigResult loaded = path is null ? EmbeddedConfig.Load(DaemonHost.Conditions) : DaemonHost.Validate(path);
        if (loaded.Config is null)
        {
            ErrorFormatter.Write(Console.Error, loaded.Errors);
            return 1;
        }

        var graph = TopologyGraph.Of(loaded.Config);
        Console.Out.Write(invocation.Value("--format") == "text" ? GraphText.Write(graph) : GraphDot.Write(graph));
        return 0;
    }
}
