using System.Globalization;
using System.Net.Sockets;
using System.Text;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Control.Internal;
using EventDaemon.Daemon.Interop;

namespace EventDaemon.Daemon.Control;

/// <summary>
/// The client side of the control socket, behind <c>eventd stats [--json] [--socket PATH]</c> and
/// <c>eventd ctl COMMAND [--socket PATH]</c>: sends one command line, prints the reply.
/// </summary>
public static class ControlClient
{
    /// <summary>The daemon answered and the reply is not an error.</summary>
    public const int ExitOk = 0;

    /// <summary>The daemon answered with <c>error:</c> (refused, failed or unknown command), or the command line is unusable.</summary>
    public const int ExitCommandFailed = 1;

    /// <summary>
    /// No reply from a daemon the client can trust: no daemon at the path, no permission to
    /// connect, it did not answer, or the socket is served by a user who is not root nor the
    /// expected one (see <see cref="Run(string, string?, TextWriter, TextWriter)"/>).
    /// </summary>
    public const int ExitUnreachable = 2;

    /// <summary>
    /// <c>health</c> answered with problems (any reply but <c>ok</c>): the same code as a failed
    /// command, so <c>eventd ctl health || alert</c> works in a probe or a script. The problems go
    /// to stdout, as the answer they are.
    /// </summary>
    public const int ExitUnhealthy = 1;

    /// <summary>The whole reply of a healthy daemon to <c>health</c>.</summary>
    public const string HealthyReply = "ok\n";

    /// <summary>
    /// <c>reload</c> re-reads the config and enrich tables before it answers, which can take a
    /// while for a large table; anything slower than this is a daemon that is stuck.
    /// </summary>
    public static readonly TimeSpan DefaultReplyTimeout = TimeSpan.FromSeconds(60);

    private const string NotRunningHint = "is it running? start it with 'eventd run' or pass --socket";

    /// <summary>
    /// Sends <paramref name="command"/> (e.g. <c>stats</c>, <c>stats json</c>, <c>reload</c>) to the
    /// daemon at <paramref name="socketPath"/>, or at <see cref="DefaultPaths.ControlSocket()"/> when
    /// null. A normal reply goes to <paramref name="stdout"/>; an <c>error:</c> reply, and the one
    /// line saying the daemon cannot be reached, go to <paramref name="stderr"/>.
    /// </summary>
    /// <remarks>
    /// Before sending anything the client asks the kernel who serves the socket (SO_PEERCRED) and
    /// goes on only if that is root, its own user, or the owner of the socket's directory when no
    /// other user could have made or changed that directory (root's client talking to a
    /// <c>User=</c>/<c>DynamicUser=</c> daemon in <c>/run/eventd</c>). Anyone else could have
    /// replaced the socket, so their reply is refused with one line saying who served it.
    /// </remarks>
    /// <returns><see cref="ExitOk"/>, <see cref="ExitCommandFailed"/> (also <see cref="ExitUnhealthy"/>: <c>health</c> reported a problem) or <see cref="ExitUnreachable"/>.</returns>
    public static int Run(string command, string? socketPath, TextWriter stdout, TextWriter stderr) =>
        Run(command, socketPath, stdout, stderr, DefaultReplyTimeout);

    /// <inheritdoc cref="Run(string, string?, TextWriter, TextWriter)"/>
    /// <param name="replyTimeout">How long to wait for the whole reply.</param>
    public static int Run(string command, string? socketPath, TextWriter stdout, TextWriter stderr, TimeSpan replyTimeout)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        string path = socketPath ?? DefaultPaths.ControlSocket();

        if (command.Contains('\n', StringComparison.Ordinal) || command.Contains('\r', StringComparison.Ordinal))
        {
            stderr.WriteLine("eventd: a control command is a single line; send one command at a time");
            return ExitCommandFailed;
        }

        if (Encoding.UTF8.GetByteCount(path) > ControlServer.MaxPathBytes)
        {
            stderr.WriteLine($"eventd: cannot reach the daemon at {path} (the path is longer than {ControlServer.MaxPathBytes} bytes): pass a shorter --socket");
            return ExitUnreachable;
        }

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e)
        {
            stderr.WriteLine($"eventd: cannot reach the daemon at {path} ({DescribeConnectError(e)}): {ConnectHint(e)}");
            return ExitUnreachable;
        }

        if (Untrusted(socket, path) is { } refusal)
        {
            stderr.WriteLine(refusal);
            return ExitUnreachable;
        }

        string? reply;
        try
        {
            reply = Exchange(socket, command, replyTimeout);
        }
        catch (SocketException e) when (e.SocketErrorCode != SocketError.TimedOut)
        {
            stderr.WriteLine($"eventd: lost the connection to the daemon at {path} ({e.Message.ToLowerInvariant()})");
            return ExitUnreachable;
        }
        catch (SocketException)
        {
            reply = null;
        }

        if (reply is null)
        {
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"eventd: the daemon at {path} did not answer '{command}' within {replyTimeout.TotalSeconds:0.###} s"));
            return ExitUnreachable;
        }

        if (reply.Length == 0)
        {
            stderr.WriteLine($"eventd: the daemon at {path} closed the connection without answering '{command}'");
            return ExitUnreachable;
        }

        if (!reply.EndsWith('\n'))
        {
            reply += "\n";
        }

        if (reply.StartsWith("error:", StringComparison.Ordinal))
        {
            stderr.Write(reply);
            return ExitCommandFailed;
        }

        stdout.Write(reply);

        // Decided here from the reply, which every daemon version gives the same shape: a newer
        // client reads an older daemon's problems just as well, and the protocol is unchanged.
        return command == ControlCommands.Health && reply != HealthyReply ? ExitUnhealthy : ExitOk;
    }

    /// <summary>Why the process serving <paramref name="path"/> is not to be believed; null when it is root or an expected user.</summary>
    internal static string? Untrusted(Socket socket, string path)
    {
        uint own = Libc.geteuid();
        if (!PeerCredentials.TryGetUid(socket, out uint peer))
        {
            return $"error: refusing the reply: cannot tell which user serves the socket {path} (SO_PEERCRED failed)";
        }

        if (peer == 0 || peer == own)
        {
            return null;
        }

        string expected = $"root or uid {own.ToString(CultureInfo.InvariantCulture)}";
        string fullPath = Path.GetFullPath(path);
        if (SocketDirectory.TryGetTrustedOwner(fullPath, out uint owner))
        {
            if (peer == owner)
            {
                return null;
            }

            if (owner != 0 && owner != own)
            {
                expected += $" or uid {owner.ToString(CultureInfo.InvariantCulture)} (the owner of {Path.GetDirectoryName(fullPath)})";
            }
        }

        return $"error: refusing the reply: the socket {path} is served by uid {peer.ToString(CultureInfo.InvariantCulture)}, not {expected}";
    }

    /// <summary>Sends the line, half-closes, reads until the daemon closes; null when the reply does not finish in time.</summary>
    private static string? Exchange(Socket socket, string command, TimeSpan timeout)
    {
        int timeoutMs = (int)Math.Min(timeout.TotalMilliseconds, int.MaxValue);
        socket.SendTimeout = timeoutMs;
        byte[] line = Encoding.UTF8.GetBytes(command + "\n");
        try
        {
            int sent = 0;
            while (sent < line.Length)
            {
                sent += socket.Send(line, sent, line.Length - sent, SocketFlags.None);
            }

            socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.Shutdown or SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            // The daemon closed first (EPIPE): whatever it wrote before closing is still to be
            // read, and an empty reply is reported as a close without an answer.
        }

        long deadline = Environment.TickCount64 + timeoutMs;
        var reply = new MemoryStream();
        byte[] buffer = new byte[16 * 1024];
        while (true)
        {
            long remaining = deadline - Environment.TickCount64;
            if (remaining <= 0)
            {
                return null;
            }

            socket.ReceiveTimeout = (int)remaining;
            int received;
            try
            {
                received = socket.Receive(buffer);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                // The server closed with part of our input unread (a line it refused as too long):
                // the reply before the reset is complete, and an empty one is reported as such.
                break;
            }

            if (received == 0)
            {
                break;
            }

            reply.Write(buffer, 0, received);
        }

        return Encoding.UTF8.GetString(reply.GetBuffer(), 0, (int)reply.Length);
    }

    internal static string DescribeConnectError(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.AddressNotAvailable or SocketError.HostNotFound => "no such socket",
        SocketError.AccessDenied => "permission denied",
        _ => e.Message.ToLowerInvariant(),
    };

    internal static string ConnectHint(SocketException e) => e.SocketErrorCode == SocketError.AccessDenied
        ? "run as root, as the daemon's user, or as a member of its group"
        : NotRunningHint;
}
