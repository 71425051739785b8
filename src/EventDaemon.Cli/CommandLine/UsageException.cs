namespace EventDaemon.Cli.CommandLine;

/// <summary>
/// The command line was wrong (an unknown command or flag, a missing value): told in one line
/// with what to try instead, exit 2.
/// </summary>
/// <param name="command">The command the message is about; null for <c>eventd</c> itself.</param>
/// <param name="see">What to run for the right spelling; <c>eventd help COMMAND</c> by default.</param>
internal sealed class UsageException(string message, string? command = null, string? see = null) : Exception(message)
{
    public const int ExitCode = 2;

    public string? Command { get; } = command;

    /// <summary><c>eventd: run: unknown option '--confg'; did you mean '--config'? (see 'eventd help run')</c></summary>
    public string Line => Command is null
        ? $"eventd: {Message} (see 'eventd help')"
        : $"eventd: {Command}: {Message} (see '{see ?? $"eventd help {Command}"}')";
}
