namespace EventDaemon.Cli.CommandLine;

/// <summary>What the parser found for one command: the values of its flags and its positional words.</summary>
internal sealed class Invocation(CommandSpec command, IReadOnlyDictionary<string, string> values, IReadOnlySet<string> switches,
    IReadOnlyDictionary<string, string[]> args)
{
    public CommandSpec Command { get; } = command;

    /// <summary>The value given to a flag that takes one, or null when it was not given.</summary>
    public string? Value(string flag) => values.TryGetValue(flag, out string? value) ? value : null;

    /// <summary>Whether a switch (a flag without a value) was given.</summary>
    public bool Has(string flag) => switches.Contains(flag);

    /// <summary>The words given to a positional argument (none when it was not given).</summary>
    public string[] Words(string arg) => args.TryGetValue(arg, out string[]? words) ? words : [];

    /// <summary>The one word given to a positional argument, or null.</summary>
    public string? Word(string arg) => Words(arg) is [var word, ..] ? word : null;
}
