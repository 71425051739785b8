namespace EventDaemon.Daemon.Tests.Integration.Support;

/// <summary>Reads what a <c>file</c> sink wrote: complete lines only (a line being written has no newline yet).</summary>
internal static class SinkFile
{
    public static List<byte[]> Lines(string path)
    {
        var lines = new List<byte[]>();
        if (!File.Exists(path))
        {
            return lines;
        }

        ReadOnlySpan<byte> rest = File.ReadAllBytes(path);
        int newline;
        while ((newline = rest.IndexOf((byte)'\n')) >= 0)
        {
            lines.Add(rest[..newline].ToArray());
            rest = rest[(newline + 1)..];
        }

        return lines;
    }

    public static List<string> TextLines(string path) =>
        Lines(path).ConvertAll(line => System.Text.Encoding.UTF8.GetString(line));

    public static int CountLines(string path) => File.Exists(path) ? File.ReadAllBytes(path).AsSpan().Count((byte)'\n') : 0;
}
