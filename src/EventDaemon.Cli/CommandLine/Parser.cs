using System.CommandLine;
using System.CommandLine.Parsing;

namespace EventDaemon.Cli.CommandLine;

/// <summary>
/// Reads <c>eventd</c>'s arguments with System.CommandLine, whose command tree is built from the
/// table (<see cref="CommandTable"/>), and turns what it reports into an <see cref="Invocation"/> or
/// a one-line <see cref="UsageException"/>. The library tokenises and binds; the table's own help,
/// messages and suggestions are used instead of the library's, so the man page, completion and
/// errors all speak from the same table.
/// </summary>
internal sealed class Parser
{
    // The library's response files (@file) and directives ([diagram]) are not part of eventd's
    // command line: a config path that begins with '@' must stay a path.
    private static readonly ParserConfiguration Configuration = new() { ResponseFileTokenReplacer = null };

    private readonly RootCommand _root = new("eventd");
    private readonly Option<bool> _help = new("--help", "-h") { Recursive = true };
    private readonly Dictionary<Command, CommandSpec> _specs = [];
    // Keyed by command and name, not by the spec: one FlagSpec (--socket) is shared by several
    // commands, and each command has an Option of its own.
    private readonly Dictionary<(string Command, string Flag), Option> _options = [];
    private readonly Dictionary<(string Command, string Arg), Argument<string[]>> _arguments = [];
    private readonly IReadOnlyList<CommandSpec> _table;

    public Parser(IReadOnlyList<CommandSpec> table)
    {
        _table = table;
        _root.Options.Clear();
        _root.Directives.Clear();
        _root.Options.Add(_help);
        foreach (CommandSpec spec in table)
        {
            var command = new Command(spec.Name, spec.Summary);
            foreach (FlagSpec flag in spec.Flags)
            {
                Option option = flag.IsSwitch ? new Option<bool>(flag.Name) : new Option<string>(flag.Name);
                _options[(spec.Name, flag.Name)] = option;
                command.Options.Add(option);
            }

            foreach (ArgSpec arg in spec.Args)
            {
                // Every argument takes any number of words here; the table's arity is checked below,
                // so a missing or extra word gets eventd's message rather than the library's.
                var argument = new Argument<string[]>(arg.Name) { Arity = ArgumentArity.ZeroOrMore };
                _arguments[(spec.Name, arg.Name)] = argument;
                command.Arguments.Add(argument);
            }

            _specs[command] = spec;
            _root.Subcommands.Add(command);
        }
    }

    /// <summary>
    /// What <paramref name="args"/> ask for. <c>--help</c> anywhere, and <c>eventd</c> alone, come
    /// back as the <c>help</c> command. Throws <see cref="UsageException"/> for anything wrong.
    /// </summary>
    public Invocation Parse(string[] args)
    {
        if (args is ["--version"])
        {
            return Bind(Find("version"), [], new HashSet<string>(), []);
        }

        ParseResult result = _root.Parse(args, Configuration);
        bool help = result.GetValue(_help);
        Command command = result.CommandResult.Command;
        if (!_specs.TryGetValue(command, out CommandSpec? spec))
        {
            if (help || args.Length == 0)
            {
                return Help(null);
            }

            string first = result.UnmatchedTokens.Count > 0 ? result.UnmatchedTokens[0] : args[0];
            throw new UsageException($"unknown command '{first}'{Suggestions.DidYouMean(first, Names())}");
        }

        if (help)
        {
            return Help(spec.Name);
        }

        if (result.UnmatchedTokens.Count > 0)
        {
            string token = result.UnmatchedTokens[0];
            if (token.StartsWith('-'))
            {
                string name = token.Split('=', 2)[0];
                IEnumerable<string> known = spec.Flags.Select(f => f.Name).Append("--help");
                throw new UsageException($"unknown option '{name}'{Suggestions.DidYouMean(name, known)}", spec.Name);
            }

            throw new UsageException($"unexpected argument '{token}'", spec.Name);
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var switches = new HashSet<string>(StringComparer.Ordinal);
        foreach (FlagSpec flag in spec.Flags)
        {
            Option option = _options[(spec.Name, flag.Name)];
            OptionResult? given = result.GetResult(option);
            if (given is null || given.Implicit)
            {
                if (flag.Required)
                {
                    throw new UsageException($"needs {flag.Usage}", spec.Name);
                }

                continue;
            }

            if (flag.IsSwitch)
            {
                if (result.GetValue((Option<bool>)option))
                {
                    switches.Add(flag.Name);
                }

                continue;
            }

            if (given.Tokens.Count == 0)
            {
                throw new UsageException($"{flag.Name} needs a value ({flag.ValueName})", spec.Name);
            }

            string value = given.Tokens[^1].Value;
            if (flag.Choices is { } choices && !choices.Contains(value))
            {
                throw new UsageException(
                    $"{flag.Name} takes {string.Join(" or ", choices)}, not '{value}'{Suggestions.DidYouMean(value, choices)}", spec.Name);
            }

            values[flag.Name] = value;
        }

        var words = new Dictionary<string, string[]>(StringComparer.Ordinal);
        string[] positional = [.. spec.Args.SelectMany(a => result.GetValue(_arguments[(spec.Name, a.Name)]) ?? [])];
        int next = 0;
        foreach (ArgSpec arg in spec.Args)
        {
            int take = arg.Many ? positional.Length - next : Math.Min(1, positional.Length - next);
            if (take == 0)
            {
                if (arg.Required)
                {
                    throw new UsageException($"needs {arg.Name}{Choices(arg)}", spec.Name);
                }

                continue;
            }

            string[] taken = positional[next..(next + take)];
            next += take;
            if (!arg.Many && arg.Choices is { } choices && !choices.Contains(taken[0]))
            {
                throw new UsageException(
                    $"unknown {arg.Name} '{taken[0]}'{Suggestions.DidYouMean(taken[0], choices)}{Choices(arg)}", spec.Name);
            }

            words[arg.Name] = taken;
        }

        if (next < positional.Length)
        {
            throw new UsageException($"unexpected argument '{positional[next]}'", spec.Name);
        }

        // The library reports what the checks above did not cover (a flag given twice, say) in its own words.
        if (result.Errors.Count > 0)
        {
            throw new UsageException(result.Errors[0].Message.TrimEnd('.'), spec.Name);
        }

        return Bind(spec, values, switches, words);
    }

    private static string Choices(ArgSpec arg) => arg.Choices is { } choices ? $" (one of: {string.Join(", ", choices)})" : "";

    private IEnumerable<string> Names() => _table.Select(c => c.Name);

    private CommandSpec Find(string name) => _table.First(c => c.Name == name);

    private Invocation Help(string? command) =>
        Bind(Find("help"), [], new HashSet<string>(), command is null ? [] : new() { ["COMMAND"] = [command] });

    private static Invocation Bind(CommandSpec spec, Dictionary<string, string> values, HashSet<string> switches, Dictionary<string, string[]> words) =>
        new(spec, values, switches, words);
}
