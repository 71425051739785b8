using System.Globalization;

namespace EventDaemon.Daemon.Nats.Internal;

/// <summary>One server of a <c>url</c> setting: <c>nats://host:port</c> (port 4222 when left out).</summary>
internal readonly record struct NatsServerAddress(string Host, int Port)
{
    public const int DefaultPort = 4222;

    /// <summary>Parses a comma-separated list; throws <see cref="FormatException"/> naming the bad entry.</summary>
    public static NatsServerAddress[] ParseList(string urls)
    {
        string[] parts = urls.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
        {
            throw new FormatException("no server in the NATS url");
        }

        var addresses = new NatsServerAddress[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            addresses[i] = Parse(parts[i]);
        }

        return addresses;
    }

    private static NatsServerAddress Parse(string url)
    {
        string rest = url.StartsWith("nats://", StringComparison.OrdinalIgnoreCase) ? url["nats://".Length..]
            : url.Contains("://", StringComparison.Ordinal) ? throw new FormatException($"'{url}': only nats:// URLs are supported")
            : url;
        rest = rest.TrimEnd('/');
        if (rest.Contains('@', StringComparison.Ordinal))
        {
            throw new FormatException($"'{url}': credentials in the URL are not supported");
        }

        int colon = rest.LastIndexOf(':');
        bool bracketed = rest.StartsWith('[');
        if (colon < 0 || (bracketed && colon < rest.IndexOf(']', StringComparison.Ordinal)))
        {
            return new NatsServerAddress(rest.Trim('[', ']'), DefaultPort);
        }

        string host = rest[..colon].Trim('[', ']');
        if (host.Length == 0 || !int.TryParse(rest.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            throw new FormatException($"'{url}': expected nats://host:port");
        }

        return new NatsServerAddress(host, port);
    }

    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
