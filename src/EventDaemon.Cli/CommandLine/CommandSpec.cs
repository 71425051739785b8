namespace EventDaemon.Cli.CommandLine;

/// <summary>
/// One <c>eventd</c> command as the table declares it: its name, flags, positional arguments, a
/// one-line summary and a longer description. Help, the man page, shell completion and the parser
/// are all made from these, so none can describe a flag another does not know.
/// </summary>
/// <param name="Details">Paragraphs separated by a blank line; shown by <c>eventd help COMMAND</c> and the man page.</param>
/// <param name="Run">The command's body (in <c>Commands/</c>), given what the parser found.</param>
internal sealed record CommandSpec(
    string Name,
    string Summary,
    string Details,
    FlagSpec[] Flags,
    ArgSpec[] Args,
    Func<Invocation, int> Run)
{
    /// <summary><c>run [--config PATH]</c>: the command with its flags and arguments.</summary>
    public string Synopsis
    {
        get
        {
            var parts = new List<string> { Name };
            foreach (ArgSpec arg in Args)
            {
                parts.Add(arg.Usage);
            }

            foreach (FlagSpec flag in Flags)
            {
                parts.Add(flag.Required ? flag.Usage : $"[{flag.Usage}]");
            }

            return string.Join(' ', parts);
        }
    }

    public FlagSpec? Flag(string name) => Array.Find(Flags, f => f.Name == name);
}

/// <summary>A <c>--name</c> flag: a switch when <see cref="ValueName"/> is null, else it takes a value.</summary>
/// <param name="ValueName">The value's placeholder in help (<c>PATH</c>, <c>N</c>); <c>PATH</c> completes file names.</param>
/// <param name="Choices">The values it accepts, when they are a fixed list (completion offers them).</param>
internal sealed record FlagSpec(string Name, string? ValueName, string Description, bool Required = false, string[]? Choices = null)
{
    public bool IsSwitch => ValueName is null;

    public string Usage => IsSwitch ? Name : $"{Name} {ValueName}";
}

/// <summary>A positional argument.</summary>
/// <param name="Many">Takes every remaining word (<c>ctl stats json</c>).</param>
/// <param name="Choices">The words it accepts, when they are a fixed list; others are usage errors.</param>
internal sealed record ArgSpec(string Name, string Description, bool Required, bool Many = false, string[]? Choices = null)
{
    public string Usage => (Required, Many) switch
    {
        (true, true) => $"{Name}...",
        (true, false) => Name,
        (false, true) => $"[{Name}...]",
        (false, false) => $"[{Name}]",
    };
}
