namespace EventDaemon.Daemon.Config;

/// <summary>"did you mean 'x'?" for misspelt keys, values and component names, and (through the
/// command line's own wording) for mistyped commands and flags.</summary>
public static class Suggestions
{
    /// <summary>The candidate closest to <paramref name="input"/>, if it is close enough to be a typo of it.</summary>
    /// <remarks>
    /// Close enough = at most one edit per three characters (at least one): catches <c>adress</c>,
    /// <c>tpc</c> and <c>purchse</c> without offering <c>sum</c> for <c>max</c>.
    /// Leading dashes of a flag do not count towards its length.
    /// </remarks>
    /// <param name="maxEdits">A cap on the edits, whatever the length: the command line's words are
    /// short and many, and two edits already change most of a three-letter one.</param>
    public static string? Closest(string input, IEnumerable<string> candidates, int maxEdits = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(candidates);
        int limit = Math.Min(maxEdits, Math.Max(1, input.TrimStart('-').Length / 3));
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string candidate in candidates)
        {
            if (candidate == input)
            {
                continue;
            }

            int distance = Distance(input.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance <= limit && distance < bestDistance && distance < candidate.Length)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        return best;
    }

    /// <summary><c> (did you mean 'x'?)</c>, or nothing.</summary>
    public static string DidYouMean(string input, IEnumerable<string> candidates) =>
        Closest(input, candidates) is { } match ? $" (did you mean '{match}'?)" : "";

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps cost 1.</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (int j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
