using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using EventDaemon.Daemon.Http.Internal;
using EventDaemon.Daemon.Interop;

namespace EventDaemon.Daemon.Http;

/// <summary>
/// The optional HTTP endpoint (<c>[daemon] http</c>): <c>GET /health</c>, <c>GET /ready</c> and
/// <c>GET /metrics</c> for Kubernetes probes and Prometheus scrapes, without a shim.
/// </summary>
/// <remarks>
/// <para>
/// Built as the control socket is (<see cref="Control.ControlServer"/>), not on ASP.NET, which
/// would add megabytes to the AOT binary for three read-only paths: one thread polls the listener
/// and a fixed table of <see cref="MaxConnections"/> raw non-blocking descriptors, reads request
/// heads, answers, and closes (every reply is <c>Connection: close</c>: a scrape every few
/// seconds gains nothing from keep-alive, and the table then never holds idle connections).
/// </para>
/// <para>
/// Nothing a client does can hold the thread or grow memory: a head must arrive whole within
/// <see cref="DefaultReadDeadline"/> of accept (a slowloris client is answered <c>408</c> and
/// dropped) and be at most <see cref="MaxHeadBytes"/> (<c>431</c>); a body is refused
/// (<c>413</c>); the reply must be taken within <see cref="DefaultWriteDeadline"/>. When the table
/// is full the oldest connection that has sent nothing is dropped to make room, then the oldest
/// lingering, reading, writing one, so a flood of idle connections cannot lock out a probe.
/// Errors are one line; a stack trace never leaves the process.
/// </para>
/// </remarks>
public sealed class HttpServer : IDisposable
{
    /// <summary>
    /// Longest request head, request line and headers. A probe or scraper sends a few hundred
    /// bytes; 8 KiB is the common server default, and 64 of them are half a megabyte at most.
    /// </summary>
    public const int MaxHeadBytes = 8192;

    /// <summary>Open connections at once: far more than probes and scrapers need (an exchange takes milliseconds).</summary>
    public const int MaxConnections = 64;

    /// <summary>From accept to the end of the head: a real client sends it in one packet.</summary>
    public static readonly TimeSpan DefaultReadDeadline = TimeSpan.FromSeconds(5);

    /// <summary>To take the whole reply (the metrics one is tens of kilobytes), from when it is ready.</summary>
    public static readonly TimeSpan DefaultWriteDeadline = TimeSpan.FromSeconds(5);

    /// <summary>How long, after the reply, a client may keep sending before it is closed anyway.</summary>
    private static readonly TimeSpan LingerDeadline = TimeSpan.FromSeconds(1);

    /// <summary>How long accept pauses when the process is out of descriptors (the pending connection stays queued).</summary>
    private static readonly TimeSpan AcceptBackoff = TimeSpan.FromMilliseconds(100);

    private const int Backlog = 64;
    private const int EventFdValueBytes = 8;
    private const string PlainText = "text/plain; charset=utf-8";

    /// <summary>The content type of the Prometheus text format 0.0.4.</summary>
    public const string MetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly IHttpTarget _target;
    private readonly Socket _listener;
    private readonly int _listenFd;
    private readonly int _wakeFd;
    private readonly long _readDeadlineMs;
    private readonly long _writeDeadlineMs;
    private readonly HttpConnection[] _connections;
    private readonly byte[] _discard = new byte[4096];
    private readonly Thread _loop;
    private long _accepted;
    private volatile bool _stopping;
    private int _disposed;

    private HttpServer(IHttpTarget target, Socket listener, int wakeFd, TimeSpan readDeadline, TimeSpan writeDeadline)
    {
        _target = target;
        _listener = listener;
        _listenFd = (int)listener.SafeHandle.DangerousGetHandle();
        _wakeFd = wakeFd;
        _readDeadlineMs = (long)readDeadline.TotalMilliseconds;
        _writeDeadlineMs = (long)writeDeadline.TotalMilliseconds;
        LocalEndPoint = (IPEndPoint)listener.LocalEndPoint!;
        _connections = new HttpConnection[MaxConnections];
        for (int i = 0; i < _connections.Length; i++)
        {
            _connections[i] = new HttpConnection();
        }

        _loop = new Thread(Loop) { IsBackground = true, Name = "eventd-http" };
    }

    /// <summary>The address and port listened on (the kernel's choice for port 0).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Binds <paramref name="endPoint"/> and starts serving.</summary>
    /// <param name="address">As the config spells it, for the error message.</param>
    /// <exception cref="HttpListenException">It cannot listen; the message is one line for the operator.</exception>
    public static HttpServer Start(IPEndPoint endPoint, string address, IHttpTarget target, TimeSpan? readDeadline = null, TimeSpan? writeDeadline = null)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(target);
        var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        int wakeFd = -1;
        try
        {
            listener.Bind(endPoint);
            listener.Listen(Backlog);
            listener.Blocking = false;
            wakeFd = Libc.eventfd(0, Libc.EfdNonBlock | Libc.EfdCloseOnExec);
            if (wakeFd < 0)
            {
                throw new IOException(Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError()));
            }

            var server = new HttpServer(target, listener, wakeFd, readDeadline ?? DefaultReadDeadline, writeDeadline ?? DefaultWriteDeadline);
            server._loop.Start();
            return server;
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            listener.Dispose();
            if (wakeFd >= 0)
            {
                Libc.close(wakeFd);
            }

            string why = e switch
            {
                SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } => "the address is in use",
                SocketException { SocketErrorCode: SocketError.AccessDenied } => "permission denied: ports below 1024 need CAP_NET_BIND_SERVICE",
                SocketException { SocketErrorCode: SocketError.AddressNotAvailable } => "no local interface has that address",
                _ => e.Message.ToLowerInvariant(),
            };
            throw new HttpListenException($"cannot listen for http on {address} ({why}): set [daemon] http to a free address of this machine, or remove it", e);
        }
    }

    /// <summary>Stops accepting, gives replies being written up to the write deadline, and closes the rest.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping = true;
        Wake();
        if (_loop == Thread.CurrentThread || _loop.Join(TimeSpan.FromMilliseconds(_writeDeadlineMs) + TimeSpan.FromSeconds(1)))
        {
            // Only once the loop has ended: it polls these descriptors.
            _listener.Dispose();
            Libc.close(_wakeFd);
        }
    }

    // ---- the loop ----------------------------------------------------------------------------

    private unsafe void Loop()
    {
        // Slot 0 is the wake descriptor, slot 1 the listener when accepting, then one per connection.
        var fds = new Libc.PollFd[MaxConnections + 2];
        var owners = new HttpConnection?[MaxConnections + 2];
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
                    CloseAllBut(HttpConnectionState.Writing);
                }

                if (now >= stopBy || !AnyWriting())
                {
                    break;
                }
            }

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

            foreach (HttpConnection connection in _connections)
            {
                short events = connection.State switch
                {
                    HttpConnectionState.Reading or HttpConnectionState.Lingering => Libc.PollIn,
                    HttpConnectionState.Writing => Libc.PollOut,
                    _ => 0,
                };
                if (events != 0)
                {
                    fds[count] = new Libc.PollFd { Fd = connection.Fd, Events = events };
                    owners[count++] = connection;
                    next = Math.Min(next, connection.Deadline);
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
        }

        CloseAllBut(HttpConnectionState.Free);
    }

    private void Serve(HttpConnection connection, short events, long now)
    {
        try
        {
            if ((events & Libc.PollNval) != 0)
            {
                Close(connection);
            }
            else if (connection.State == HttpConnectionState.Reading)
            {
                Read(connection, now);
            }
            else if (connection.State == HttpConnectionState.Writing)
            {
                Write(connection, now);
            }
            else if (connection.State == HttpConnectionState.Lingering)
            {
                Discard(connection);
            }
        }
        catch (Exception)
        {
            // A bug in serving one connection must not end the process: that client loses its reply.
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

                return;
            }

            HttpConnection slot = FreeSlot() ?? DropOne();
            slot.Open(fd, ++_accepted, now + _readDeadlineMs);
        }
    }

    private HttpConnection? FreeSlot()
    {
        foreach (HttpConnection connection in _connections)
        {
            if (connection.State == HttpConnectionState.Free)
            {
                return connection;
            }
        }

        return null;
    }

    /// <summary>Makes room in a full table: the oldest silent connection, else the oldest lingering, reading, writing one.</summary>
    private HttpConnection DropOne()
    {
        HttpConnection victim = Oldest(static c => c.IsSilent)
            ?? Oldest(static c => c.State == HttpConnectionState.Lingering)
            ?? Oldest(static c => c.State == HttpConnectionState.Reading)
            ?? Oldest(static c => c.State == HttpConnectionState.Writing)!;
        Close(victim);
        return victim;
    }

    private HttpConnection? Oldest(Func<HttpConnection, bool> kind)
    {
        HttpConnection? oldest = null;
        foreach (HttpConnection connection in _connections)
        {
            if (kind(connection) && (oldest is null || connection.Serial < oldest.Serial))
            {
                oldest = connection;
            }
        }

        return oldest;
    }

    private unsafe void Read(HttpConnection connection, long now)
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
                    Close(connection);
                }

                return;
            }

            if (received == 0)
            {
                // Closed before the head ended (a port check, or a client that gave up): nobody to answer.
                Close(connection);
                return;
            }

            connection.Filled = filled + (int)received;

            // The blank line may straddle two reads: look again from up to three bytes back.
            int from = Math.Max(0, filled - 3);
            int end = HeadEnd(buffer.AsSpan(from, connection.Filled - from));
            if (end >= 0)
            {
                Respond(connection, HttpRequestHead.Parse(buffer.AsSpan(0, from + end)), now);
                return;
            }

            if (connection.Filled == buffer.Length)
            {
                Respond(connection, Refusal(431), now);
                return;
            }
        }
    }

    /// <summary>Where the head ends (the index of its blank line's start), or -1: CRLF CRLF, or LF LF from a lenient client.</summary>
    private static int HeadEnd(ReadOnlySpan<byte> data)
    {
        int crlf = data.IndexOf("\r\n\r\n"u8);
        int lf = data.IndexOf("\n\n"u8);
        return crlf < 0 ? lf : lf < 0 ? crlf : Math.Min(crlf, lf);
    }

    private static HttpRequestHead Refusal(int status) => new(status, false, "");

    private void Respond(HttpConnection connection, HttpRequestHead request, long now)
    {
        connection.StartWriting(Reply(request), now + _writeDeadlineMs);
        Write(connection, now);
    }

    /// <summary>The whole reply to one request, head and body; never throws.</summary>
    private byte[] Reply(HttpRequestHead request)
    {
        if (request.Status != 0)
        {
            return Encode(request.Status, PlainText, StatusBody(request.Status), request.IsHead);
        }

        try
        {
            DaemonPhase phase = _target.Phase;
            switch (request.Path)
            {
                case "/health":
                    if (phase == DaemonPhase.Starting)
                    {
                        return Encode(503, PlainText, "starting\n", request.IsHead);
                    }

                    string health = _target.Health();
                    return health == "ok"
                        ? Encode(200, PlainText, "ok\n", request.IsHead)
                        : Encode(503, PlainText, health.TrimEnd('\n') + "\n", request.IsHead);
                case "/ready":
                    return phase switch
                    {
                        DaemonPhase.Ready => Encode(200, PlainText, "ready\n", request.IsHead),
                        DaemonPhase.Starting => Encode(503, PlainText, "starting\n", request.IsHead),
                        _ => Encode(503, PlainText, "draining\n", request.IsHead),
                    };
                case "/metrics":
                    return phase == DaemonPhase.Starting
                        ? Encode(503, PlainText, "starting\n", request.IsHead)
                        : Encode(200, MetricsContentType, _target.Metrics(), request.IsHead);
                default:
                    return Encode(404, PlainText, "not found: the paths are /health, /ready and /metrics\n", request.IsHead);
            }
        }
        catch (Exception e)
        {
            // One line, never a stack trace: the message of a bug or a transient failure.
            string message = string.IsNullOrWhiteSpace(e.Message) ? e.GetType().Name : e.Message.ReplaceLineEndings(" ");
            return Encode(500, PlainText, $"error: {message}\n", request.IsHead);
        }
    }

    private static string StatusBody(int status) => status switch
    {
        400 => "bad request: expected 'GET /path HTTP/1.1'\n",
        405 => "method not allowed: only GET and HEAD\n",
        408 => "request timeout: the request head did not arrive in time\n",
        413 => "content too large: requests here have no body\n",
        431 => string.Create(CultureInfo.InvariantCulture, $"request header fields too large: at most {MaxHeadBytes} bytes\n"),
        _ => "http version not supported: use HTTP/1.1\n",
    };

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "HTTP Version Not Supported",
    };

    private static byte[] Encode(int status, string contentType, string body, bool headOnly)
    {
        int length = Encoding.UTF8.GetByteCount(body);
        var head = new StringBuilder(160);
        head.Append("HTTP/1.1 ").Append(status.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(Reason(status)).Append("\r\n");
        head.Append("Content-Type: ").Append(contentType).Append("\r\n");
        head.Append("Content-Length: ").Append(length.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
        if (status == 405)
        {
            head.Append("Allow: GET, HEAD\r\n");
        }

        head.Append("Cache-Control: no-store\r\nConnection: close\r\n\r\n");
        int headBytes = Encoding.ASCII.GetByteCount(head.ToString());
        byte[] reply = new byte[headBytes + (headOnly ? 0 : length)];
        Encoding.ASCII.GetBytes(head.ToString(), reply);
        if (!headOnly)
        {
            Encoding.UTF8.GetBytes(body, reply.AsSpan(headBytes));
        }

        return reply;
    }

    /// <summary>Sends what the client's socket takes now; the rest when poll says it has room, until the write deadline.</summary>
    private unsafe void Write(HttpConnection connection, long now)
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
                    Close(connection);
                }

                return;
            }

            connection.Sent += (int)sent;
        }

        // The whole reply is out: end it (the client's read returns 0), then wait for the client
        // to close, discarding anything more it sends.
        Libc.shutdown(connection.Fd, Libc.ShutWrite);
        connection.State = HttpConnectionState.Lingering;
        connection.Deadline = now + (long)LingerDeadline.TotalMilliseconds;
        Discard(connection);
    }

    /// <summary>Reads and drops what a lingering client sends: a bounded number of reads per turn, so a client that floods cannot hold the loop.</summary>
    private unsafe void Discard(HttpConnection connection)
    {
        for (int reads = 0; reads < MaxDiscardReads; reads++)
        {
            nint received;
            fixed (byte* start = _discard)
            {
                received = Libc.recv(connection.Fd, start, (nuint)_discard.Length, Libc.MsgDontWait);
            }

            if (received > 0)
            {
                continue;
            }

            if (received < 0 && Marshal.GetLastPInvokeError() is Libc.EAgain)
            {
                return;
            }

            if (received < 0 && Marshal.GetLastPInvokeError() is Libc.EIntr)
            {
                continue;
            }

            // 0: the client closed; or an error: it is gone.
            Close(connection);
            return;
        }
    }

    /// <summary>16 reads of 4 KiB: more than any client that is merely finishing a request sends.</summary>
    private const int MaxDiscardReads = 16;

    private void ExpireDeadlines(long now)
    {
        foreach (HttpConnection connection in _connections)
        {
            if (connection.State == HttpConnectionState.Free || connection.Deadline > now)
            {
                continue;
            }

            if (connection.State == HttpConnectionState.Reading && connection.Filled > 0)
            {
                // A head that trickles in (slowloris): say why, then close.
                Respond(connection, Refusal(408), now);
            }
            else
            {
                Close(connection);
            }
        }
    }

    private bool AnyWriting()
    {
        foreach (HttpConnection connection in _connections)
        {
            if (connection.State == HttpConnectionState.Writing)
            {
                return true;
            }
        }

        return false;
    }

    private void CloseAllBut(HttpConnectionState kept)
    {
        foreach (HttpConnection connection in _connections)
        {
            if (connection.State != HttpConnectionState.Free && connection.State != kept)
            {
                Close(connection);
            }
        }
    }

    private static void Close(HttpConnection connection)
    {
        if (connection.State != HttpConnectionState.Free)
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
}
