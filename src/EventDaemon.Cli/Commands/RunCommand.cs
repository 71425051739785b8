using EventDaemon.Cli.CommandLine;
using EventDaemon.Daemon.Hosting;

namespace EventDaemon.Cli.Commands;

/// <summary><c>eventd run [--config PATH]</c>: the daemon in the foreground.</summary>
internal static class RunCommand
{
    public static int Run(Invocation invocation)
    {
        string? config = invocation.Value("--config");
        if (config is not null && !File.Exists(config))
        {
            Console.Error.WriteLine($"eventd: config file '{config}' not found: pass an existing file to --config, or omit it to run the embedded default");
            return 1;
        }

        return DaemonHost.Run(config);
    }
}
