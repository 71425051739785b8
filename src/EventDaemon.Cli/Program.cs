using EventDaemon.Cli.Commands;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Control;
using EventDaemon.Daemon.Hosting;

namespace EventDaemon.Cli;

/// <summary>The <c>eventd</c> command line: one binary for the daemon and its clients.</summary>
public static class Program
{
    private const string Usage = """
        usage: eventd COMMAND [OPTIONS]

          run [--config PATH]                 run the daemon in the foreground (embedded default without --config)
          validate --config PATH              check a config; prints file:line:col: message per error
          test --config PATH                  run the config's [[tests]]; exit 1 with a diff on a failure
          stats [--json] [--socket PATH]      print the running daemon's counters
          ctl COMMAND [--socket PATH]         send a control command (try: eventd ctl help)
          journal verify|repair --config PATH check the journal (read-only), or rewrite its damaged segments
          top [--socket PATH] [--once]        live view of rates, lag, drops, errors and latency (q quits)
          tap STAGE [--limit N] [--sample N]  the events leaving a stage as JSON lines
          version                             version, commit and build flags
        """;

    public static int Main(string[] args)
    {
        // A thread the daemon does not guard itself (a library's, a timer's) that throws would
        // otherwise end the process with the runtime's stack trace; one line and exit 1 instead.
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
            Fatal.Exit(e.ExceptionObject as Exception, Thread.CurrentThread.Name);
        try
        {
            return Dispatch(args);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"eventd: {e.Message} (try 'eventd help')");
            return 2;
        }
        catch (Exception e)
        {
            // Every error a person can make has its own message before this; what reaches here is
            // a bug in eventd, told in one line, never as a stack trace (SPEC §1).
            Fatal.WriteLine(Fatal.Describe(e, where: null));
            return 1;
        }
    }

    private static int Dispatch(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.Write(Usage);
            return 2;
        }

        string command = args[0];
        var options = new Options(args.AsSpan(1).ToArray());
        switch (command)
        {
            case "run":
                {
                    string? config = options.Value("--config");
                    options.EnsureConsumed(0);
                    if (config is not null && !File.Exists(config))
                    {
                        Console.Error.WriteLine($"eventd: config file '{config}' not found: pass an existing file to --config, or omit it to run the embedded default");
                        return 1;
                    }

                    return DaemonHost.Run(config);
                }

            case "validate":
                {
                    string config = options.Value("--config") ?? throw new UsageException("validate needs --config PATH");
                    options.EnsureConsumed(0);
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

            case "test":
                {
                    string config = options.Value("--config") ?? throw new UsageException("test needs --config PATH");
                    options.EnsureConsumed(0);
                    return Commands.TestCommand.Run(config, Console.Out, Console.Error);
                }

            case "stats":
                {
                    bool json = options.Flag("--json");
                    string socket = options.Value("--socket") ?? DefaultSocket();
                    options.EnsureConsumed(0);
                    return ControlClient.Run(json ? "stats json" : "stats", socket, Console.Out, Console.Error);
                }

            case "ctl":
                {
                    string socket = options.Value("--socket") ?? DefaultSocket();
                    string[] words = options.Remaining();
                    if (words.Length == 0)
                    {
                        throw new UsageException("ctl needs a command, e.g. 'eventd ctl health'");
                    }

                    return ControlClient.Run(string.Join(' ', words), socket, Console.Out, Console.Error);
                }

            case "journal":
                {
                    string? config = options.Value("--config");
                    string verb = options.Remaining() is [var first, ..] ? first : throw new UsageException("journal needs verify or repair");
                    options.EnsureConsumed(1);
                    if (config is null)
                    {
                        throw new UsageException($"journal {verb} needs --config PATH");
                    }

                    return verb switch
                    {
                        "verify" => Commands.JournalCommand.Verify(config, Console.Out, Console.Error),
                        "repair" => Commands.JournalCommand.Repair(config, Console.Out, Console.Error),
                        _ => throw new UsageException($"unknown journal command '{verb}' (verify or repair)"),
                    };
                }

            case "top":
                {
                    string socket = options.Value("--socket") ?? DefaultSocket();
                    bool once = options.Flag("--once");
                    options.EnsureConsumed(0);
                    return TopCommand.Run(socket, once);
                }

            case "tap":
                {
                    string? limit = options.Value("--limit");
                    string? sample = options.Value("--sample");
                    string socket = options.Value("--socket") ?? DefaultSocket();
                    string[] target = options.Remaining();
                    if (target.Length != 1)
                    {
                        throw new UsageException("tap needs one STAGE, e.g. 'eventd tap clicks'");
                    }

                    return TapCommand.Run(target[0], limit, sample, socket);
                }

            case "version" or "--version":
                options.EnsureConsumed(0);
                Console.WriteLine($"eventd {BuildInfo.Version}");
                Console.WriteLine($"commit {BuildInfo.Commit}");
                Console.WriteLine($"build {BuildInfo.Flags}");
                return 0;

            case "help" or "--help" or "-h":
                Console.Write(Usage);
                return 0;

            default:
                throw new UsageException($"unknown command '{command}'");
        }
    }

    /// <summary>
    /// The socket a daemon started with defaults by this user listens on; failing that, the one a
    /// systemd-run daemon uses (RuntimeDirectory=eventd), which a user shell cannot derive from its environment.
    /// </summary>
    private static string DefaultSocket()
    {
        string own = DefaultPaths.ControlSocket();
        const string systemd = "/run/eventd/eventd.sock";
        return !File.Exists(own) && File.Exists(systemd) ? systemd : own;
    }

    private sealed class UsageException(string message) : Exception(message);

    /// <summary>A tiny flag parser: every flag must be known to the command, or it is an error.</summary>
    private sealed class Options(string[] args)
    {
        private readonly bool[] _used = new bool[args.Length];

        public string? Value(string name)
        {
            for (int i = 0; i < args.Length; i++)
            {
                if (args[i] == name)
                {
                    if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    {
                        throw new UsageException($"{name} needs a value");
                    }

                    _used[i] = _used[i + 1] = true;
                    return args[i + 1];
                }

                if (args[i].StartsWith(name + "=", StringComparison.Ordinal))
                {
                    _used[i] = true;
                    return args[i][(name.Length + 1)..];
                }
            }

            return null;
        }

        public bool Flag(string name)
        {
            int i = Array.IndexOf(args, name);
            if (i >= 0)
            {
                _used[i] = true;
            }

            return i >= 0;
        }

        /// <summary>Positional words left after the known flags; unknown flags are errors.</summary>
        public string[] Remaining()
        {
            var words = new List<string>();
            for (int i = 0; i < args.Length; i++)
            {
                if (_used[i])
                {
                    continue;
                }

                if (args[i].StartsWith('-'))
                {
                    throw new UsageException($"unknown option '{args[i]}'");
                }

                words.Add(args[i]);
            }

            return [.. words];
        }

        public void EnsureConsumed(int positional)
        {
            string[] rest = Remaining();
            if (rest.Length > positional)
            {
                throw new UsageException($"unexpected argument '{rest[positional]}'");
            }
        }
    }
}
