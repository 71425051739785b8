using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace EventDaemon.Daemon.Control;

/// <summary>
/// The client side of <c>tap</c>, behind <c>eventd tap NAME [--limit N] [--sample N]</c>: sends
/// the command and copies the JSON lines the daemon streams to <c>stdout</c>, until the limit, the
/// daemon closing, or the reader of stdout going away.
/// </summary>
public static class TapClient
{
    /// <summary>The limit was reached, or stdout was closed (<c>| head</c>).</summary>
    public const int ExitOk = 0;

    /// <summary>The daemon refused, stopped the tap, or cannot be reached.</summary>
    public const int ExitFailed = 1;

    /// <summary>The target names nothing that can be tapped (the reply lists what can).</summary>
    public const int ExitUnknownTarget = 2;

    /// <summary>Streams the events of <paramref name="stage"/> (a source, stage, route output or sink), 1 in <paramref name="sample"/>, to <paramref name="stdout"/>; stops after <paramref name="limit"/> lines when given.</summary>
    public static int Run(string stage, long? limit, long sample, string socketPath, Stream stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(stage);
        ArgumentNullException.ThrowIfNull(socketPath);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        }
        catch (SocketException e)
        {
            stderr.WriteLine($"eventd: cannot reach the daemon at {socketPath} ({ControlClient.DescribeConnectError(e)}): {ControlClient.ConnectHint(e)}");
            return ExitFailed;
        }

        if (ControlClient.Untrusted(socket, socketPath) is { } refusal)
        {
            stderr.WriteLine(refusal);
            return ExitFailed;
        }

        string command = string.Create(CultureInfo.InvariantCulture, $"{ControlCommands.Tap} {stage} sample {sample}\n");
        try
        {
            socket.Send(Encoding.UTF8.GetBytes(command));
        }
        catch (SocketException e)
        {
            stderr.WriteLine($"eventd: lost the connection to the daemon at {socketPath} ({e.Message.ToLowerInvariant()})");
            return ExitFailed;
        }

        byte[] buffer = new byte[64 * 1024];
        long lines = 0;
        bool first = true;
        while (true)
        {
            int received;
            try
            {
                received = socket.Receive(buffer);
            }
            catch (SocketException e)
            {
                stderr.WriteLine($"eventd: lost the connection to the daemon at {socketPath} ({e.Message.ToLowerInvariant()})");
                return ExitFailed;
            }

            if (received == 0)
            {
                // The daemon ended the stream: it stopped, or cut this client off as too slow.
                stderr.WriteLine($"eventd: the daemon at {socketPath} closed the tap after {lines} events");
                return ExitFailed;
            }

            ReadOnlySpan<byte> chunk = buffer.AsSpan(0, received);
            if (first && chunk.StartsWith("error:"u8))
            {
                string reply = Encoding.UTF8.GetString(chunk).TrimEnd('\n');
                stderr.WriteLine(reply);
                return reply.StartsWith(ControlServer.UnknownTapTarget, StringComparison.Ordinal) ? ExitUnknownTarget : ExitFailed;
            }

            first = false;
            if (limit is { } max)
            {
                // Only whole lines up to the limit: the rest of the chunk is not printed.
                int end = 0;
                while (lines < max)
                {
                    int newline = chunk[end..].IndexOf((byte)'\n');
                    if (newline < 0)
                    {
                        end = chunk.Length;
                        break;
                    }

                    end += newline + 1;
                    lines++;
                }

                chunk = chunk[..end];
            }
            else
            {
                lines += chunk.Count((byte)'\n');
            }

            try
            {
                stdout.Write(chunk);
                stdout.Flush();
            }
            catch (IOException)
            {
                // Whoever read stdout went away (| head): a normal end of a tap.
                return ExitOk;
            }

            if (limit is { } l && lines >= l)
            {
                return ExitOk;
            }
        }
    }
}
