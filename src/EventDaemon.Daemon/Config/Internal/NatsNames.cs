namespace EventDaemon.Daemon.Config.Internal;

/// <summary>The NATS naming rules a config can break, checked at load rather than at connect.</summary>
internal static class NatsNames
{
    private static readonly string[] Schemes = ["nats", "tls", "ws", "wss"];

    /// <summary>A server URL, or several separated by commas (the client tries each).</summary>
    public static string? Url(TableReader reader, string key, string fallback)
    {
        string? text = reader.Text(key);
        if (text is null)
        {
            return reader.Table.Find(key) is null ? fallback : null;
        }

        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(part, UriKind.Absolute, out Uri? uri) || !Schemes.Contains(uri.Scheme) || uri.Host.Length == 0)
            {
                reader.Context.Error(reader.Table.Find(key)!.Value.Position, $"{key}: \"{part}\" is not a NATS server URL (e.g. \"nats://127.0.0.1:4222\")");
                return null;
            }
        }

        return text;
    }

    /// <summary>A stream or consumer name: no whitespace, dots or wildcards.</summary>
    public static string? Name(TableReader reader, string key)
    {
        string? text = reader.Text(key);
        if (text is not null && text.AsSpan().IndexOfAny(" \t\r\n.*>/\\") >= 0)
        {
            reader.Context.Error(reader.Table.Find(key)!.Value.Position, $"{key}: '{text}' is not a valid name (no spaces, '.', '*', '>', '/' or '\\')");
            return null;
        }

        return text;
    }

    /// <param name="allowWildcards">A consumer may filter on <c>orders.*</c>; a publisher needs one concrete subject.</param>
    public static string? Subject(TableReader reader, string key, bool allowWildcards)
    {
        string? text = reader.Text(key);
        if (text is null)
        {
            return null;
        }

        ConfigPosition at = reader.Table.Find(key)!.Value.Position;
        string[] tokens = text.Split('.');
        if (tokens.Any(token => token.Length == 0 || token.AsSpan().IndexOfAny(" \t\r\n") >= 0))
        {
            reader.Context.Error(at, $"{key}: '{text}' is not a valid subject (dot-separated tokens without spaces)");
            return null;
        }

        if (!allowWildcards && tokens.Any(token => token is "*" or ">"))
        {
            reader.Context.Error(at, $"{key}: '{text}' has wildcards; a sink publishes to one concrete subject");
            return null;
        }

        return text;
    }
}
