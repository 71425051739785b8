namespace EventDaemon.Cli.CommandLine;

/// <summary>"Did you mean" for a mistyped command, flag or control command, in the command line's wording.</summary>
internal static class Suggestions
{
    /// <summary>
    /// The candidate nearest <paramref name="typo"/> (the config's own rule, <see cref="Daemon.Config.Suggestions"/>),
    /// at most two edits away: that catches the usual slips (statz, --confg, vaildate) without
    /// proposing 'run' for 'top'.
    /// </summary>
    public static string? Closest(string typo, IEnumerable<string> candidates) =>
        Daemon.Config.Suggestions.Closest(typo, candidates, maxEdits: 2);

    /// <summary>"; did you mean 'stats'?" or nothing.</summary>
    public static string DidYouMean(string typo, IEnumerable<string> candidates) =>
        Closest(typo, candidates) is { } match ? $"; did you mean '{match}'?" : "";
}
