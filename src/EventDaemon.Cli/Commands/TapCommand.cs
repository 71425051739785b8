using System.Globalization;
using EventDaemon.Daemon.Control;
using Microsoft.Win32.SafeHandles;

namespace EventDaemon.Cli.Commands;

/// <summary>
/// <c>eventd tap NAME [--limit N] [--sample N|1/N] [--socket PATH]</c>: the events of a source,
/// stage, route output or sink as JSON lines, as the sinks write them (the streaming is
/// <see cref="TapClient"/>; the pipeline side, which never slows the pipeline, is <c>Runtime/StageTap.cs</c>).
/// </summary>
public static class TapCommand
{
    /// <summary>The command line could not be used; the message says why.</summary>
    public const int ExitUsage = 2;

    /// <param name="limit">The <c>--limit</c> value, or null for no limit.</param>
    /// <param name="sample">The <c>--sample</c> value (<c>N</c> or <c>1/N</c>), or null to keep every event.</param>
    public static int Run(string stage, string? limit, string? sample, string socket)
    {
        ArgumentNullException.ThrowIfNull(stage);
        ArgumentNullException.ThrowIfNull(socket);
        long? maxLines = null;
        if (limit is not null)
        {
            if (!long.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n < 1)
            {
                Console.Error.WriteLine($"eventd: --limit needs a whole number of events, at least 1 (got '{limit}')");
                return ExitUsage;
            }

            maxLines = n;
        }

        long keepOneIn = 1;
        if (sample is not null)
        {
            string n = sample.StartsWith("1/", StringComparison.Ordinal) ? sample[2..] : sample;
            if (!long.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out keepOneIn) || keepOneIn < 1)
            {
                Console.Error.WriteLine($"eventd: --sample keeps 1 event in N: give N or 1/N, N at least 1 (got '{sample}')");
                return ExitUsage;
            }
        }

        using Stream stdout = OpenStdout();
        return TapClient.Run(stage, maxLines, keepOneIn, socket, stdout, Console.Error);
    }

    /// <summary>
    /// Standard output as a stream that fails when its reader has gone. The console's own stream
    /// pretends a write to a closed pipe succeeded (it ignores EPIPE), so '| head' would never end
    /// the tap; a FileStream on fd 1 throws there, which <see cref="TapClient"/> takes as a normal
    /// end. Only for what cannot seek (a pipe, a socket, a terminal): on a regular file a
    /// FileStream writes at its own offset, not the descriptor's, and would overwrite what
    /// others write to the same file ('(date; eventd tap x) > log').
    /// </summary>
    private static Stream OpenStdout()
    {
        var stream = new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0);
        if (!stream.CanSeek)
        {
            return stream;
        }

        stream.Dispose();
        return Console.OpenStandardOutput();
    }
}
