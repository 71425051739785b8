namespace EventDaemon.Cli.CommandLine;

/// <summary>"Did you mean" for a mistyped command, flag or control command.</summary>
internal static class Suggestions
{
    /// <summary>
    /// The candidate nearest <paramref name="typo"/> by edit distance (a swap of two neighbours
    /// counts as one edit), or null when none is near enough to be a typo rather than another word.
    /// </summary>
    public static string? Closest(string typo, IEnumerable<string> candidates)
    {
        // Two edits catch the usual slips (statz, --confg, vaildate) without proposing 'run' for 'top'
        // on words of three letters, where two edits change most of the word.
        int limit = Math.Min(2, Math.Max(1, typo.TrimStart('-').Length / 3));
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string candidate in candidates)
        {
            int distance = Distance(typo, candidate);
            if (distance <= limit && distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        return best;
    }

    /// <summary>"; did you mean 'stats'?" or nothing.</summary>
    public static string DidYouMean(string typo, IEnumerable<string> candidates) =>
        Closest(typo, candidates) is { } match ? $"; did you mean '{match}'?" : "";

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps.</summary>
    public static int Distance(string a, string b)
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
