using EventDaemon.Cli.CommandLine;
using EventDaemon.Daemon.Hosting;

namespace EventDaemon.Cli.Commands;

/// <summary><c>eventd version</c>.</summary>
internal static class VersionCommand
{
    public static int Run(Invocation invocation)
    {
        Console.WriteLine($"eventd {BuildInfo.Version}");
        Console.WriteLine($"commit {BuildInfo.Commit}");
        Console.WriteLine($"build {BuildInfo.Flags}");
        return 0;
    }
}
