using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using EventDaemon.Daemon.Control.Internal;
using EventDaemon.Daemon.Interop;

namespace EventDaemon.Daemon.Control;

/// <summary>
/// The control socket (SPEC §4): a Unix stream socket that takes one command line per
/// connection, writes the reply and closes, so <c>echo stats | socat - UNIX-CONNECT:PATH</c> works.
/// </summary>
/// <remarks>
/// Connections are served by <see cref="Workers"/> dedicated threads that each block in accept on
/// the same listener, never by the thread pool, so a busy pool cannot delay <c>stats</c> and
/// the control socket cannot starve the rest of the process. A client that sends nothing holds
/// one worker for at most the command timeout; the other keeps answering.
/// </remarks>
public sealed class ControlServer : IDisposable
{
    /// <summary>Longest command line, newline included; longer ones are refused unread.</summary>
    public const int MaxCommandBytes = 4096;

    /// <summary>sun_path is 108 bytes including the terminating NUL.</summary>
    public const int MaxPathBytes = 107;

    /// <summary>
    /// Two: a stalled client must not block <c>stats</c>, and serving is cheap (it reads
    /// counters), so more would only add threads on a machine whose cores belong to the pipeline.
    /// </summary>
    public const int Workers = 2;

    /// <summary>How long a client has to send its command line, and to take the reply.</summary>
    public static readonly TimeSpan DefaultCommandTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Connections the kernel queues while both workers are busy; more are refused by the kernel.</summary>
    private const int Backlog = 16;

    /// <summary>An unknown command is echoed back, cut to this many characters.</summary>
    private const int EchoedCommandChars = 80;

    /// <summary>rw-rw----: the daemon's user and group may connect (SPEC §4).</summary>
    private const UnixFileMode SocketMode =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;

    /// <summary>rwxr-x---, for a socket directory the daemon has to create itself.</summary>
    private const UnixFileMode DirectoryMode =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;

    /// <summary>Paces retries when accept fails for a reason other than shutdown (EMFILE, say), so a worker never spins.</summary>
    private static readonly TimeSpan AcceptRetryDelay = TimeSpan.FromMilliseconds(100);

    private readonly IControlTarget _target;
    private readonly Socket _listener;
    private readonly ulong _inode;
    private readonly uint _ownUid;
    private readonly TimeSpan _commandTimeout;
    private readonly Thread[] _threads;
    private readonly ManualResetEventSlim _stopped = new(false);
    private int _disposed;

    private ControlServer(string socketPath, IControlTarget target, Socket listener, ulong inode, TimeSpan commandTimeout)
    {
        SocketPath = socketPath;
        _target = target;
        _listener = listener;
        _inode = inode;
        _commandTimeout = commandTimeout;
        _ownUid = Libc.getuid();
        _threads = new Thread[Workers];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(AcceptLoop) { IsBackground = true, Name = $"eventd-control-{i}" };
        }
    }

    /// <summary>The absolute path the server listens on.</summary>
    public string SocketPath { get; }

    /// <summary>
    /// Creates the socket's directory if missing (0750), replaces a stale socket file that no
    /// daemon answers on, binds, sets the socket to 0660 and starts serving.
    /// </summary>
    /// <param name="commandTimeout">How long a client has to send its line and to take the reply; default <see cref="DefaultCommandTimeout"/>.</param>
    /// <exception cref="ControlSocketException">The socket cannot be set up; the message is one line for the operator.</exception>
    public static ControlServer Start(string socketPath, IControlTarget target, TimeSpan? commandTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        string path = Path.GetFullPath(socketPath);
        int pathBytes = Encoding.UTF8.GetByteCount(path);
        if (pathBytes > MaxPathBytes)
        {
            throw new ControlSocketException(
                $"control socket path {path} is too long ({pathBytes} bytes, a Unix socket path has at most {MaxPathBytes}): set [daemon] control_socket to a shorter path");
        }

        CreateDirectory(path);
        RemoveStaleSocket(path);

        var endPoint = new UnlinkedByOwnerEndPoint(path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        bool bound = false;
        try
        {
            listener.Bind(endPoint);
            bound = true;
            SocketFile.Inspect(path, out ulong inode);
            File.SetUnixFileMode(path, SocketMode);
            listener.Listen(Backlog);
            var server = new ControlServer(path, target, listener, inode, commandTimeout ?? DefaultCommandTimeout);
            foreach (Thread thread in server._threads)
            {
                thread.Start();
            }

            return server;
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            listener.Dispose();
            if (bound)
            {
                TryDelete(path);
            }

            if (e is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse })
            {
                throw new ControlSocketException($"another eventd is running on {path}: stop it first, or set [daemon] control_socket to another path", e);
            }

            throw new ControlSocketException(
                $"cannot create the control socket {path} ({Describe(e)}): set [daemon] control_socket to a path the daemon's user can write", e);
        }
    }

    /// <summary>
    /// Stops accepting, closes the listener, waits (bounded) for replies being written, and deletes
    /// the socket file if it is still the one this server bound.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopped.Set();

        // Closing the listener wakes the workers blocked in accept (the runtime shuts the socket
        // down first, and shutdown makes accept return on Linux).
        _listener.Dispose();

        // A worker may be writing a reply (drain's is sent just before the process exits): give it
        // the time a client is given, and a little more, but never wait on a hung client forever.
        TimeSpan wait = _commandTimeout + _commandTimeout + TimeSpan.FromSeconds(1);
        foreach (Thread thread in _threads)
        {
            if (thread != Thread.CurrentThread && thread.IsAlive)
            {
                thread.Join(wait);
            }
        }

        if (_inode != 0 && SocketFile.Inspect(SocketPath, out ulong inode) == SocketFileKind.Socket && inode == _inode)
        {
            TryDelete(SocketPath);
        }

        // _stopped is deliberately not disposed: a worker that outlived the join above still reads
        // it, and a disposed event would throw on that thread and take the process down.
    }

    private static void CreateDirectory(string path)
    {
        string? directory = Path.GetDirectoryName(path);
        if (string.IsNullOrEmpty(directory) || Directory.Exists(directory))
        {
            return;
        }

        try
        {
            Directory.CreateDirectory(directory, DirectoryMode);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ControlSocketException(
                $"cannot create the control socket directory {directory} ({Describe(e)}): create it, or set [daemon] control_socket to a path the daemon's user can write", e);
        }
    }

    /// <summary>
    /// A socket file left by a daemon that died is removed; one a daemon still answers on is not.
    /// The probe connects and closes without a command, which a live server ignores.
    /// </summary>
    private static void RemoveStaleSocket(string path)
    {
        switch (SocketFile.Inspect(path, out _))
        {
            case SocketFileKind.Missing:
                return;
            case SocketFileKind.NotASocket:
                throw new ControlSocketException(
                    $"{path} exists and is not a socket: remove it, or set [daemon] control_socket to another path");
        }

        // Non-blocking: a connect to a daemon whose accept queue is full would otherwise wait for
        // as long as that daemon is stuck. EAGAIN means someone listens, which is all we ask.
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { Blocking = false };
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
            // Falls through to "another eventd is running".
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            // Nobody listens: a leftover from a daemon that did not exit cleanly.
            TryDelete(path);
            return;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable || e.SocketErrorCode == SocketError.HostNotFound)
        {
            // Gone between the look and the probe (ENOENT).
            return;
        }
        catch (SocketException e)
        {
            throw new ControlSocketException(
                $"cannot check whether another eventd is running on {path} ({Describe(e)}): remove the file if no daemon uses it, or set [daemon] control_socket to another path", e);
        }

        throw new ControlSocketException($"another eventd is running on {path}: stop it first, or set [daemon] control_socket to another path");
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Bind will say what is wrong with the path, in the operator's terms.
        }
    }

    private static string Describe(Exception e) => e switch
    {
        SocketException { SocketErrorCode: SocketError.AccessDenied } or UnauthorizedAccessException => "permission denied",
        SocketException s => s.Message.ToLowerInvariant(),
        _ => e.Message,
    };

    private void AcceptLoop()
    {
        // One buffer per worker for its whole life: each connection reads into it.
        byte[] buffer = new byte[MaxCommandBytes];
        while (!_stopped.IsSet)
        {
            Socket client;
            try
            {
                client = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (e is ObjectDisposedException || _stopped.IsSet)
                {
                    return;
                }

                _stopped.Wait(AcceptRetryDelay);
                continue;
            }

            using (client)
            {
                Serve(client, buffer);
            }
        }
    }

    /// <summary>One connection: read one line, answer it, close. A client that misbehaves only loses its own reply.</summary>
    private void Serve(Socket client, byte[] buffer)
    {
        try
        {
            int timeoutMs = (int)_commandTimeout.TotalMilliseconds;
            client.SendTimeout = timeoutMs;
            string? reply = ReadCommand(client, buffer, timeoutMs, out string? command) switch
            {
                ReadResult.Line => Dispatch(client, command!),
                ReadResult.TooLong => $"error: command longer than {MaxCommandBytes} bytes (try help)",
                ReadResult.TimedOut => string.Create(CultureInfo.InvariantCulture, $"error: no command received within {_commandTimeout.TotalSeconds:0.###} s (try help)"),
                _ => null,
            };

            if (reply is null)
            {
                // Connected and closed without a word: a probe from a starting daemon, or a port check.
                return;
            }

            byte[] bytes = Encoding.UTF8.GetBytes(reply.EndsWith('\n') ? reply : reply + "\n");
            int sent = 0;
            while (sent < bytes.Length)
            {
                sent += client.Send(bytes, sent, bytes.Length - sent, SocketFlags.None);
            }

            client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            // The client went away or stopped reading; nothing to tell it.
        }
        catch (Exception)
        {
            // Anything else is a bug in serving one connection; an exception escaping a worker
            // would end the process, and the control socket must never take the daemon down.
        }
    }

    private static ReadResult ReadCommand(Socket client, byte[] buffer, int timeoutMs, out string? command)
    {
        command = null;
        long deadline = Environment.TickCount64 + timeoutMs;
        int filled = 0;
        while (true)
        {
            long remaining = deadline - Environment.TickCount64;
            if (remaining <= 0)
            {
                return ReadResult.TimedOut;
            }

            // Per call, so a client that trickles bytes still gets one deadline for the whole line.
            client.ReceiveTimeout = (int)remaining;
            int received;
            try
            {
                received = client.Receive(buffer, filled, buffer.Length - filled, SocketFlags.None);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
            {
                return ReadResult.TimedOut;
            }

            if (received == 0)
            {
                if (filled == 0)
                {
                    return ReadResult.Nothing;
                }

                command = Normalize(buffer.AsSpan(0, filled));
                return ReadResult.Line;
            }

            int newline = buffer.AsSpan(filled, received).IndexOf((byte)'\n');
            filled += received;
            if (newline >= 0)
            {
                command = Normalize(buffer.AsSpan(0, filled - received + newline));
                return ReadResult.Line;
            }

            if (filled == buffer.Length)
            {
                return ReadResult.TooLong;
            }
        }
    }

    /// <summary>Words separated by single spaces; a trailing <c>\r</c> and surrounding blanks dropped.</summary>
    private static string Normalize(ReadOnlySpan<byte> line) =>
        string.Join(' ', Encoding.UTF8.GetString(line).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    private string Dispatch(Socket client, string command)
    {
        if (ControlCommands.ChangesState(command) && !MayChangeState(client, command, out string? refusal))
        {
            return refusal;
        }

        try
        {
            return command switch
            {
                ControlCommands.Stats => MetricsFormatter.Text(_target.CollectMetrics()),
                ControlCommands.StatsJson => MetricsFormatter.Json(_target.CollectMetrics()),
                ControlCommands.Metrics => MetricsFormatter.Prometheus(_target.CollectMetrics()),
                ControlCommands.Info => _target.Info(),
                ControlCommands.Health => _target.Health(),
                ControlCommands.Latency => _target.Latency(),
                ControlCommands.Errors => _target.Errors(),
                ControlCommands.Config => _target.Config(),
                ControlCommands.Reload => Format(command, _target.Reload()),
                ControlCommands.Drain => Format(command, _target.Drain()),
                ControlCommands.Help => ControlCommands.HelpText,
                "" => "error: empty command (try help)",
                _ => $"error: unknown command '{Echo(command)}' (try help)",
            };
        }
        catch (Exception e)
        {
            // A bug or a transient failure behind one command must not take the socket down.
            return "error: " + (string.IsNullOrWhiteSpace(e.Message) ? $"'{command}' failed ({e.GetType().Name})" : e.Message);
        }
    }

    /// <summary>Root or the daemon's own user, as the kernel reports the peer (SO_PEERCRED); refused when it cannot say.</summary>
    private bool MayChangeState(Socket client, string command, [NotNullWhen(false)] out string? refusal)
    {
        if (PeerCredentials.TryGetUid(client, out uint peerUid) && (peerUid == 0 || peerUid == _ownUid))
        {
            refusal = null;
            return true;
        }

        refusal = $"error: permission denied: '{command}' needs root or uid {_ownUid}";
        return false;
    }

    private static string Format(string command, ControlReply reply)
    {
        if (reply.Ok)
        {
            return reply.Text.Length == 0 ? "ok" : reply.Text;
        }

        if (reply.Text.StartsWith("error:", StringComparison.Ordinal))
        {
            return reply.Text;
        }

        return reply.Text.Length == 0 ? $"error: '{command}' failed" : "error: " + reply.Text;
    }

    /// <summary>The command as received, safe to print on one line: control characters become '?', long ones are cut.</summary>
    private static string Echo(string command)
    {
        var echo = new StringBuilder(Math.Min(command.Length, EchoedCommandChars + 3));
        foreach (char c in command.Length > EchoedCommandChars ? command.AsSpan(0, EchoedCommandChars) : command.AsSpan())
        {
            echo.Append(char.IsControl(c) ? '?' : c);
        }

        return command.Length > EchoedCommandChars ? echo.Append("...").ToString() : echo.ToString();
    }

    private enum ReadResult
    {
        Nothing,
        Line,
        TooLong,
        TimedOut,
    }
}
