using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Control.Internal;
using EventDaemon.Daemon.Interop;
using EventDaemon.Daemon.Runtime;

namespace EventDaemon.Daemon.Control;

/// <summary>
/// The control socket (SPEC §4): a Unix stream socket that takes one command line per
/// connection, writes the reply and closes, so <c>echo stats | socat - UNIX-CONNECT:PATH</c> works.
/// </summary>
/// <remarks>
/// <para>
/// One thread serves every connection: it polls the listener and each open connection (all
/// non-blocking raw descriptors in a fixed table of <see cref="MaxConnections"/>), reads command
/// lines as they arrive, runs them, and writes replies as the client takes them. Nothing a client
/// does can hold the thread: a client has <see cref="DefaultReadDeadline"/> from accept to send
/// its line and <see cref="DefaultWriteDeadline"/> to take the reply, and when the table is full
/// the oldest connection that has sent nothing is dropped to make room (then the oldest still
/// sending its line, then the oldest slow reader). A client that sends nothing therefore costs
/// one slot for one second, and <c>stats</c> answers whatever other clients do.
/// </para>
/// <para>
/// Commands read counters and snapshots and run on the loop, except <c>reload</c>, which
/// re-reads the config and tables and may hold the producers for seconds: it runs on a second
/// thread, one reload at a time, and the loop writes its reply when it is ready. Poll rather
/// than epoll: the set is at most 66 descriptors and rebuilt from the table each turn, so there
/// is no kernel registration to keep in step with the table.
/// </para>
/// </remarks>
public sealed partial class ControlServer : IDisposable
{
    /// <summary>Longest command line, newline included; longer ones are refused unread.</summary>
    public const int MaxCommandBytes = 4096;

    /// <summary>sun_path is 108 bytes including the terminating NUL.</summary>
    public const int MaxPathBytes = 107;

    /// <summary>
    /// Open control connections at once. Far more than operators and scrapers need (each exchange
    /// takes milliseconds), few enough that the table costs 64 × 4 KiB of command buffers at most,
    /// and well inside the descriptor reserve the daemon keeps.
    /// </summary>
    public const int MaxConnections = 64;

    /// <summary>
    /// How long a client has, from accept, to send its command line: a script or <c>eventd stats</c>
    /// sends it at once, so one second is generous on a loaded machine and short enough that
    /// silent connections free their slots quickly.
    /// </summary>
    public static readonly TimeSpan DefaultReadDeadline = TimeSpan.FromSeconds(1);

    /// <summary>How long a client has to take the whole reply (the <c>metrics</c> one can be large), from when it is ready.</summary>
    public static readonly TimeSpan DefaultWriteDeadline = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often the loop takes events from the stages' taps while a client taps: often enough that
    /// a tap's 256 KiB ring does not fill at a few hundred thousand events a second, rarely enough
    /// that an idle tap costs nothing noticeable.
    /// </summary>
    private const int TapIntervalMs = 20;

    /// <summary>The kernel's accept queue; the loop empties it every turn, so it only absorbs bursts.</summary>
    private const int Backlog = 64;

    /// <summary>An unknown command is echoed back, cut to this many characters.</summary>
    private const int EchoedCommandChars = 80;

    /// <summary>An eventfd is read and written as one 8-byte counter.</summary>
    private const int EventFdValueBytes = 8;

    /// <summary>rw-rw----: the daemon's user and group may connect (SPEC §4).</summary>
    private const UnixFileMode SocketMode =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;

    /// <summary>
    /// How long accept pauses when the process is out of descriptors (EMFILE/ENFILE): the pending
    /// connection stays queued, so polling the listener at once would report it again and spin.
    /// </summary>
    private static readonly TimeSpan AcceptBackoff = TimeSpan.FromMilliseconds(100);

    private readonly IControlTarget _target;
    private readonly Socket _listener;
    private readonly int _listenFd;
    private readonly int _wakeFd;
    private readonly ulong _inode;
    private readonly uint _ownUid;
    private readonly long _readDeadlineMs;
    private readonly long _writeDeadlineMs;
    private readonly string _timeoutReply;
    private readonly ControlConnection[] _connections;
    private readonly Queue<ControlConnection> _slowCommands = new(MaxConnections);

    /// <summary>An object, not a <see cref="Lock"/>: the slow-command thread sleeps on it with <see cref="Monitor.Wait(object)"/>.</summary>
    private readonly object _slowLock = new();
    private readonly Thread _loop;
    private readonly Thread _slow;
    private long _accepted;
    private volatile bool _stopping;
    private int _disposed;

    private ControlServer(string socketPath, IControlTarget target, Socket listener, ulong inode, int wakeFd, TimeSpan readDeadline, TimeSpan writeDeadline)
    {
        SocketPath = socketPath;
        _target = target;
        _listener = listener;
        _listenFd = (int)listener.SafeHandle.DangerousGetHandle();
        _wakeFd = wakeFd;
        _inode = inode;
        _ownUid = Libc.getuid();
        _readDeadlineMs = (long)readDeadline.TotalMilliseconds;
        _writeDeadlineMs = (long)writeDeadline.TotalMilliseconds;
        _timeoutReply = string.Create(CultureInfo.InvariantCulture, $"error: no command received within {readDeadline.TotalSeconds:0.###} s (try help)\n");
        _connections = new ControlConnection[MaxConnections];
        for (int i = 0; i < _connections.Length; i++)
        {
            _connections[i] = new ControlConnection();
        }

        _loop = new Thread(Loop) { IsBackground = true, Name = "eventd-control" };
        _slow = new Thread(SlowCommandLoop) { IsBackground = true, Name = "eventd-control-reload" };
    }

    /// <summary>The absolute path the server listens on.</summary>
    public string SocketPath { get; }

    /// <summary>
    /// Checks the socket's directory (creating it if missing: 0700 for <c>/tmp/eventd-UID</c>, else
    /// 0750) and refuses one another user could change; replaces a stale socket file that no daemon
    /// answers on; binds, sets the socket to 0660 and starts serving.
    /// </summary>
    /// <param name="readDeadline">How long a client has from accept to send its line; default <see cref="DefaultReadDeadline"/>.</param>
    /// <param name="writeDeadline">How long a client has to take its reply; default <see cref="DefaultWriteDeadline"/>.</param>
    /// <exception cref="ControlSocketException">The socket cannot be set up; the message is one line for the operator.</exception>
    public static ControlServer Start(string socketPath, IControlTarget target, TimeSpan? readDeadline = null, TimeSpan? writeDeadline = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        string path = Path.GetFullPath(socketPath);
        int pathBytes = Encoding.UTF8.GetByteCount(path);
        if (pathBytes > MaxPathBytes)
        {
            throw new ControlSocketException(
                $"control socket path {path} is too long ({pathBytes} bytes, a Unix socket path has at most {MaxPathBytes}): set [daemon] control_socket to a shorter path");
        }

        uint uid = Libc.geteuid();
        string directory = Path.GetDirectoryName(path) ?? "/";
        SocketDirectory.Prepare(directory, uid, SocketDirectory.IsPerUserTemp(directory, DefaultPaths.CurrentUserId));
        RemoveStaleSocket(path, uid);

        var endPoint = new UnlinkedByOwnerEndPoint(path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        bool bound = false;
        int wakeFd = -1;
        try
        {
            listener.Bind(endPoint);
            bound = true;
            SocketFile.Inspect(path, out ulong inode);
            File.SetUnixFileMode(path, SocketMode);
            listener.Listen(Backlog);
            listener.Blocking = false;
            wakeFd = Libc.eventfd(0, Libc.EfdNonBlock | Libc.EfdCloseOnExec);
            if (wakeFd < 0)
            {
                throw new IOException(Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError()));
            }

            var server = new ControlServer(path, target, listener, inode, wakeFd, readDeadline ?? DefaultReadDeadline, writeDeadline ?? DefaultWriteDeadline);
            server._loop.Start();
            server._slow.Start();
            return server;
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            listener.Dispose();
            if (wakeFd >= 0)
            {
                Libc.close(wakeFd);
            }

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
    /// Stops accepting, gives replies being written (drain's is sent just before the process
    /// exits) up to the write deadline, closes the rest, and deletes the socket file if it is
    /// still the one this server bound.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping = true;
        Wake();
        lock (_slowLock)
        {
            Monitor.PulseAll(_slowLock);
        }

        TimeSpan grace = TimeSpan.FromMilliseconds(_writeDeadlineMs) + TimeSpan.FromSeconds(1);
        bool loopEnded = _loop == Thread.CurrentThread || _loop.Join(grace);
        bool slowEnded = _slow == Thread.CurrentThread || _slow.Join(grace);

        // Only once the loop has ended: it polls the listener's descriptor, which must not be
        // closed (and perhaps reused by another open) under it.
        if (loopEnded)
        {
            _listener.Dispose();
            if (slowEnded)
            {
                Libc.close(_wakeFd);
            }
        }

        if (_inode != 0 && SocketFile.Inspect(SocketPath, out ulong inode) == SocketFileKind.Socket && inode == _inode)
        {
            TryDelete(SocketPath);
        }
    }

    /// <summary>
    /// A socket file left by a daemon that died is removed; one a daemon still answers on is not,
    /// nor one another user owns. The probe connects and closes without a command, which a live
    /// server ignores.
    /// </summary>
    private static void RemoveStaleSocket(string path, uint uid)
    {
        PathStatus status = SocketFile.Lstat(path);
        switch (status.Kind)
        {
            case PathKind.Missing:
                return;
            case PathKind.Socket when status.Owner != uid:
                throw new ControlSocketException(
                    $"{path} is a socket owned by uid {status.Owner}, not by the daemon's user (uid {uid}): remove it if no daemon uses it, or set [daemon] control_socket to another path");
            case PathKind.Socket or PathKind.Unknown:
                break;
            default:
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

    // ---- the loop ----------------------------------------------------------------------------

    private unsafe void Loop()
    {
        // Slot 0 is the wake descriptor, slot 1 the listener when accepting, then one per connection.
        var fds = new Libc.PollFd[MaxConnections + 2];
        var owners = new ControlConnection?[MaxConnections + 2];
        long acceptPausedUntil = 0;
        long stopBy = long.MaxValue;
        while (true)
        {
            long now = Environment.TickCount64;
            if (_stopping)
            {
                if (stopBy == long.MaxValue)
                {
                    stopBy = now + _writeDeadlineMs;
                    CloseAllBut(ConnectionState.Writing);
                }

                if (now >= stopBy || !Any(ConnectionState.Writing))
                {
                    break;
                }
            }

            TakeCompletedReplies(now);
            ExpireDeadlines(now);

            int count = 0;
            long next = _stopping ? stopBy : long.MaxValue;
            fds[count] = new Libc.PollFd { Fd = _wakeFd, Events = Libc.PollIn };
            owners[count++] = null;
            int listenerIndex = -1;
            if (!_stopping)
            {
                if (now >= acceptPausedUntil)
                {
                    listenerIndex = count;
                    fds[count] = new Libc.PollFd { Fd = _listenFd, Events = Libc.PollIn };
                    owners[count++] = null;
                }
                else
                {
                    next = Math.Min(next, acceptPausedUntil);
                }
            }

            foreach (ControlConnection connection in _connections)
            {
                short events = connection.State switch
                {
                    ConnectionState.Reading => Libc.PollIn,
                    ConnectionState.Writing => Libc.PollOut,

                    // In: to see the client leave. Out: only while bytes wait, else poll would spin.
                    ConnectionState.Tapping => (short)(Libc.PollIn | (connection.Tap!.Pending ? Libc.PollOut : 0)),
                    _ => 0,
                };
                if (events != 0)
                {
                    fds[count] = new Libc.PollFd { Fd = connection.Fd, Events = events };
                    owners[count++] = connection;
                    next = Math.Min(next, connection.State == ConnectionState.Tapping ? now + TapIntervalMs : connection.Deadline);
                }
            }

            // Rounded up, so a deadline is never polled for a millisecond early and then spun on.
            int timeout = next == long.MaxValue ? -1 : (int)Math.Clamp(next - now + 1, 0, int.MaxValue);
            int ready;
            fixed (Libc.PollFd* pollFds = fds)
            {
                ready = Libc.poll(pollFds, (nuint)count, timeout);
            }

            if (ready <= 0)
            {
                // A timeout (deadlines are handled at the top), or EINTR; poll's other errors
                // (EFAULT, EINVAL, ENOMEM) cannot come from this fixed table.
                PumpTaps(Environment.TickCount64);
                continue;
            }

            if (fds[0].ReturnedEvents != 0)
            {
                ClearWake();
            }

            now = Environment.TickCount64;

            // Connections before accept: accepting may drop a connection and reuse its slot, and
            // an event polled for the old descriptor must not be applied to the new one.
            for (int i = 0; i < count; i++)
            {
                if (owners[i] is { } connection && fds[i].ReturnedEvents != 0 && connection.Fd == fds[i].Fd)
                {
                    Serve(connection, fds[i].ReturnedEvents, now);
                }
            }

            if (listenerIndex >= 0 && fds[listenerIndex].ReturnedEvents != 0)
            {
                AcceptPending(now, ref acceptPausedUntil);
            }

            PumpTaps(now);
        }

        CloseAllBut(ConnectionState.Free);
    }

    private void Serve(ControlConnection connection, short events, long now)
    {
        try
        {
            if ((events & Libc.PollNval) != 0)
            {
                Close(connection);
            }
            else if (connection.State == ConnectionState.Reading)
            {
                Read(connection, now);
            }
            else if (connection.State == ConnectionState.Writing)
            {
                Write(connection);
            }
            else if (connection.State == ConnectionState.Tapping)
            {
                ServeTap(connection, events, now);
            }
        }
        catch (Exception)
        {
            // A bug in serving one connection: an exception escaping the loop would end the
            // process, and the control socket must never take the daemon down. That client only
            // loses its reply.
            Close(connection);
        }
    }

    private void AcceptPending(long now, ref long acceptPausedUntil)
    {
        while (true)
        {
            int fd;
            unsafe
            {
                fd = Libc.accept4(_listenFd, null, null, Libc.SockNonBlock | Libc.SockCloseOnExec);
            }

            if (fd < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Libc.EIntr)
                {
                    continue;
                }

                if (errno is Libc.EMFile or Libc.ENFile)
                {
                    acceptPausedUntil = now + (long)AcceptBackoff.TotalMilliseconds;
                }

                // EAGAIN: the queue is empty. ECONNABORTED and the like: that client left; the
                // next turn's poll says whether others wait.
                return;
            }

            ControlConnection? slot = FreeSlot() ?? DropOne();
            if (slot is null)
            {
                // Every slot runs a reload: nothing can be dropped, so the newcomer is.
                Libc.close(fd);
                continue;
            }

            slot.Open(fd, ++_accepted, now + _readDeadlineMs);
        }
    }

    private ControlConnection? FreeSlot()
    {
        foreach (ControlConnection connection in _connections)
        {
            if (connection.State == ConnectionState.Free)
            {
                return connection;
            }
        }

        return null;
    }

    /// <summary>
    /// Makes room in a full table: closes the oldest connection that has sent nothing, else the
    /// oldest still sending its line, else the oldest slow reader. A running reload is never dropped.
    /// </summary>
    private ControlConnection? DropOne()
    {
        ControlConnection? victim = Oldest(static c => c.IsSilent)
            ?? Oldest(static c => c.State == ConnectionState.Reading)
            ?? Oldest(static c => c.State == ConnectionState.Writing);
        if (victim is not null)
        {
            Close(victim);
        }

        return victim;
    }

    private ControlConnection? Oldest(Func<ControlConnection, bool> kind)
    {
        ControlConnection? oldest = null;
        foreach (ControlConnection connection in _connections)
        {
            if (kind(connection) && (oldest is null || connection.Serial < oldest.Serial))
            {
                oldest = connection;
            }
        }

        return oldest;
    }

    private unsafe void Read(ControlConnection connection, long now)
    {
        byte[] buffer = connection.Buffer;
        while (true)
        {
            int filled = connection.Filled;
            nint received;
            fixed (byte* start = buffer)
            {
                received = Libc.recv(connection.Fd, start + filled, (nuint)(buffer.Length - filled), Libc.MsgDontWait);
            }

            if (received < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Libc.EIntr)
                {
                    continue;
                }

                if (errno != Libc.EAgain)
                {
                    // Reset by the client: nobody to answer.
                    Close(connection);
                }

                return;
            }

            if (received == 0)
            {
                if (filled == 0)
                {
                    // Connected and closed without a word: a probe from a starting daemon, or a port check.
                    Close(connection);
                }
                else
                {
                    Run(connection, Normalize(buffer.AsSpan(0, filled)), now);
                }

                return;
            }

            int newline = buffer.AsSpan(filled, (int)received).IndexOf((byte)'\n');
            connection.Filled = filled + (int)received;
            if (newline >= 0)
            {
                Run(connection, Normalize(buffer.AsSpan(0, filled + newline)), now);
                return;
            }

            if (connection.Filled == buffer.Length)
            {
                Reply(connection, $"error: command longer than {MaxCommandBytes} bytes (try help)", now);
                return;
            }
        }
    }

    /// <summary>Runs a command line: on the loop, or for <c>reload</c> (once the peer may) on the slow-command thread.</summary>
    private void Run(ControlConnection connection, string command, long now)
    {
        if (ControlCommands.ChangesState(command) && !MayChangeState(connection.Fd, command, out string? refusal))
        {
            Reply(connection, refusal, now);
            return;
        }

        if (command == ControlCommands.Tap || command.StartsWith(ControlCommands.Tap + " ", StringComparison.Ordinal))
        {
            StartTap(connection, command, now);
            return;
        }

        if (command == ControlCommands.Reload)
        {
            connection.Command = command;
            connection.State = ConnectionState.Running;
            lock (_slowLock)
            {
                _slowCommands.Enqueue(connection);
                Monitor.Pulse(_slowLock);
            }

            return;
        }

        Reply(connection, Dispatch(command), now);
    }

    private void Reply(ControlConnection connection, string reply, long now)
    {
        connection.StartWriting(Encode(reply), now + _writeDeadlineMs);
        Write(connection);
    }

    private static byte[] Encode(string reply) => Encoding.UTF8.GetBytes(reply.EndsWith('\n') ? reply : reply + "\n");

    /// <summary>Sends what the client's socket takes now; the rest when poll says it has room, until the write deadline.</summary>
    private unsafe void Write(ControlConnection connection)
    {
        byte[] reply = connection.Reply;
        while (connection.Sent < reply.Length)
        {
            nint sent;
            fixed (byte* start = reply)
            {
                sent = Libc.send(connection.Fd, start + connection.Sent, (nuint)(reply.Length - connection.Sent), Libc.MsgNoSignal | Libc.MsgDontWait);
            }

            if (sent < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Libc.EIntr)
                {
                    continue;
                }

                if (errno != Libc.EAgain)
                {
                    // The client left (EPIPE, ECONNRESET): nothing to tell it.
                    Close(connection);
                }

                return;
            }

            connection.Sent += (int)sent;
        }

        // The whole reply is out: end it so the client's read returns 0, then let go.
        Libc.shutdown(connection.Fd, Libc.ShutWrite);
        Close(connection);
    }

    private void ExpireDeadlines(long now)
    {
        foreach (ControlConnection connection in _connections)
        {
            if (connection.Deadline > now)
            {
                continue;
            }

            if (connection.State == ConnectionState.Reading)
            {
                // Tell the client why, in case it is a person typing slowly; if its socket has no
                // room for one line, the write deadline ends it.
                Reply(connection, _timeoutReply, now);
            }
            else if (connection.State == ConnectionState.Writing || (connection.State == ConnectionState.Tapping && connection.Tap!.Pending))
            {
                // A tapping client that took nothing for the write deadline is cut off: its
                // events are not buffered for it without bound (the stage counts what it drops).
                Close(connection);
            }
        }
    }

    private void TakeCompletedReplies(long now)
    {
        foreach (ControlConnection connection in _connections)
        {
            if (connection.State == ConnectionState.Running && connection.TryTakeCompleted(out byte[] reply))
            {
                connection.StartWriting(reply, now + _writeDeadlineMs);
                Write(connection);
            }
        }
    }

    private bool Any(ConnectionState state)
    {
        foreach (ControlConnection connection in _connections)
        {
            if (connection.State == state)
            {
                return true;
            }
        }

        return false;
    }

    private void CloseAllBut(ConnectionState kept)
    {
        foreach (ControlConnection connection in _connections)
        {
            if (connection.State != ConnectionState.Free && connection.State != kept)
            {
                Close(connection);
            }
        }
    }

    private static void Close(ControlConnection connection)
    {
        if (connection.State != ConnectionState.Free)
        {
            Libc.close(connection.Release());
        }
    }

    private unsafe void Wake()
    {
        ulong one = 1;
        Libc.write(_wakeFd, (byte*)&one, EventFdValueBytes);
    }

    private unsafe void ClearWake()
    {
        ulong value;
        Libc.read(_wakeFd, (byte*)&value, EventFdValueBytes);
    }

    /// <summary>The thread that runs <c>reload</c>, one at a time, so the loop keeps serving while a reload holds the pipeline.</summary>
    private void SlowCommandLoop()
    {
        while (true)
        {
            ControlConnection connection;
            lock (_slowLock)
            {
                while (_slowCommands.Count == 0 && !_stopping)
                {
                    Monitor.Wait(_slowLock);
                }

                if (_stopping)
                {
                    return;
                }

                connection = _slowCommands.Dequeue();
            }

            connection.Complete(Encode(Dispatch(connection.Command)));
            Wake();
        }
    }

    /// <summary>Words separated by single spaces; a trailing <c>\r</c> and surrounding blanks dropped.</summary>
    private static string Normalize(ReadOnlySpan<byte> line) =>
        string.Join(' ', Encoding.UTF8.GetString(line).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    /// <summary>The reply to one command line; never throws.</summary>
    private string Dispatch(string command)
    {

        try
        {
            return command switch
            {
                ControlCommands.Stats => MetricsFormatter.Text(_target.CollectMetrics()),
                ControlCommands.StatsJson => MetricsFormatter.Json(_target.CollectMetrics()),
                ControlCommands.Metrics => MetricsFormatter.Prometheus(_target.CollectMetrics(), _target.LatencyHistograms(), _target.JournalSyncLatency()),
                ControlCommands.Info => _target.Info(),
                ControlCommands.Health => _target.Health(),
                ControlCommands.Latency => _target.Latency(),
                ControlCommands.Errors => _target.Errors(),
                ControlCommands.Config => _target.Config(),
                ControlCommands.Reload => Format(command, Reloader.Logged(_target.Reload(), Reloader.BySocket)),
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
    private bool MayChangeState(int fd, string command, [NotNullWhen(false)] out string? refusal)
    {
        if (PeerCredentials.TryGetUid(fd, out uint peerUid) && (peerUid == 0 || peerUid == _ownUid))
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
}
