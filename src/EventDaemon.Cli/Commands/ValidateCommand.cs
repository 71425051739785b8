using EventDaemon.Cli.CommandLine;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Hosting;

namespace EventDaemon.Cli.Commands;

/// <summary><c>eventd validate --config PATH</c>: the config checked as <c>run</c> checks it.</summary>
internal static class ValidateCommand
{
    public static int Run(Invocation invocation)
    {
        string config = invocation.Value("--config")!;
        if (!File.Exists(config))
        {
            Console.Error.WriteLine($"eventd: config file '{config}' not found");
            return 1;
        }

        ConfigResult result = DaemonHost.Validate(config);
        ErrorFormatter.Write(Console.Error, result.Diagnostics);
        if (result.Succeeded)
        {
            Console.WriteLine($"{config}: ok");
            return 0;
        }

        return 1;
    }
}
