using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace EventDaemon.Daemon.Sinks.Transports;

/// <summary>
/// Sends batches over one TCP connection with <c>TCP_NODELAY</c>: one <c>send</c> per batch,
/// connecting lazily and reconnecting with exponential backoff.
/// </summary>
/// <remarks>
/// <para>
/// Backoff: the first connection is tried at the first write. After a failed attempt, or a
/// connection that breaks, the next attempt waits the backoff, which starts at
/// <c>initialBackoff</c> (100 ms) and doubles after every failed attempt up to <c>maxBackoff</c>
/// (5 s). It returns to the start once a batch has been sent on a new connection, so a peer that
/// accepts and at once drops connections is still retried slowly. Attempts happen inside
/// <see cref="TryWrite"/> and <see cref="Tick"/>; between them <see cref="TryWrite"/> returns
/// <c>false</c> at once ("reconnecting in N ms") and the caller keeps its batch.
/// </para>
/// <para>
/// A peer that closed the connection is noticed before the next batch is sent (its FIN makes the
/// socket readable with nothing to read), and by <see cref="Tick"/> while idle, so a batch is not
/// handed to a connection already known to be dead. TCP without acknowledgements above it cannot do
/// better than that: a batch the kernel accepted just before the peer crashed is lost.
/// </para>
/// <para>
/// A send that does not complete within <c>sendTimeout</c> (a peer that stopped reading) closes the
/// connection and fails the batch rather than blocking the sink's thread indefinitely, so the sink
/// shows up in <c>health</c>. The peer may have received the start of that batch on the old
/// connection; the retry sends it whole on the new one.
/// </para>
/// <para>Connecting (and resolving a host name) blocks the sink's thread for at most <c>connectTimeout</c> per address.</para>
/// </remarks>
public readonly partial struct TcpTransport : ISinkTransport
{
    private readonly Connection _connection;

    /// <param name="host">An IP address or a host name (resolved at every connection attempt, so a moved peer is found).</param>
    /// <param name="port">1–65535.</param>
    /// <param name="maxBackoff">Longest wait between attempts; <see cref="DefaultMaxBackoff"/> when <c>null</c>.</param>
    /// <param name="initialBackoff">First wait after a failure; <see cref="DefaultInitialBackoff"/> when <c>null</c>.</param>
    /// <param name="connectTimeout">Per address; <see cref="DefaultConnectTimeout"/> when <c>null</c>.</param>
    /// <param name="sendTimeout">Per batch; <see cref="DefaultSendTimeout"/> when <c>null</c>.</param>
    /// <param name="time">The clock backoff is measured on; <see cref="Tick"/> must be given timestamps of the same clock.</param>
    public TcpTransport(
        string host,
        int port,
        TimeSpan? maxBackoff = null,
        TimeSpan? initialBackoff = null,
        TimeSpan? connectTimeout = null,
        TimeSpan? sendTimeout = null,
        TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, IPEndPoint.MaxPort);
        TimeSpan max = maxBackoff ?? DefaultMaxBackoff;
        TimeSpan initial = initialBackoff ?? DefaultInitialBackoff;
        TimeSpan connect = connectTimeout ?? DefaultConnectTimeout;
        TimeSpan send = sendTimeout ?? DefaultSendTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(initial, TimeSpan.Zero, nameof(initialBackoff));
        ArgumentOutOfRangeException.ThrowIfLessThan(max, initial, nameof(maxBackoff));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(connect, TimeSpan.Zero, nameof(connectTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(send, TimeSpan.Zero, nameof(sendTimeout));
        _connection = new Connection(host, port, initial, max, connect, send, time ?? TimeProvider.System);
    }

    /// <summary>100 ms: a peer restarting on the same host is usually back within a few hundred.</summary>
    public static TimeSpan DefaultInitialBackoff => TimeSpan.FromMilliseconds(100);

    /// <summary>5 s: a restarted peer is found again within seconds without a reconnect storm.</summary>
    public static TimeSpan DefaultMaxBackoff => TimeSpan.FromSeconds(5);

    /// <summary>5 s: far above any LAN round trip; an unreachable host would otherwise hold the thread for minutes of SYN retries.</summary>
    public static TimeSpan DefaultConnectTimeout => TimeSpan.FromSeconds(5);

    /// <summary>
    /// 5 s: half of the unit's <c>WatchdogSec=10</c>, so a peer that stopped reading surfaces as a
    /// failing sink before a blocked thread could be mistaken for a stalled stage.
    /// </summary>
    public static TimeSpan DefaultSendTimeout => TimeSpan.FromSeconds(5);

    /// <remarks>This and the properties below are written by the sink's thread only and read with <see cref="Volatile"/> from any.</remarks>
    public bool IsConnected => Volatile.Read(ref _connection.Socket) is not null;

    /// <summary>The wait before the next attempt after the last failure; zero once a batch went through.</summary>
    public TimeSpan CurrentBackoff => _connection.ToTimeSpan(Volatile.Read(ref _connection.Backoff));

    /// <summary>Connection attempts made, successful or not.</summary>
    public long ConnectAttempts => Volatile.Read(ref _connection.ConnectAttempts);

    /// <summary>Why the last attempt or send failed; <c>null</c> once a batch went through.</summary>
    public string? LastError => Volatile.Read(ref _connection.LastError);

    /// <summary>Connected: a write goes out at once (a peer found closed by it fails the write and
    /// schedules a reconnection; it never connects in the same call).</summary>
    public bool IsReady => _connection.Socket is not null;

    public string Describe() => _connection.Description;

    /// <summary>Connects lazily, so a peer that is not up yet does not stop the daemon from starting.</summary>
    public void Open()
    {
    }

    public bool TryWrite(ReadOnlySpan<byte> batch, out string? error)
    {
        Connection c = _connection;
        Socket? socket = c.Socket;
        c.WroteSinceTick = true;
        if (socket is null || c.PeerClosed(socket))
        {
            return c.TryWriteDisconnected(batch, out error);
        }

        return c.Send(socket, batch, out error);
    }

    public void Tick(long nowTimestamp)
    {
        Connection c = _connection;
        Socket? socket = c.Socket;
        // A write since the last tick checked the peer just before it, and the next write will
        // again: the sink ticks after every flush, and a second poll per batch would only double
        // the system calls of a busy connection. An idle one is still checked on every tick.
        bool wrote = c.WroteSinceTick;
        c.WroteSinceTick = false;
        if (socket is not null)
        {
            if (!wrote && c.PeerClosed(socket))
            {
                c.Lost(nowTimestamp, Connection.PeerClosedCause);
            }
        }
        else if (c.Attempted && nowTimestamp >= c.NextAttempt)
        {
            c.TryConnect(nowTimestamp, out _);
        }
    }

    public void Close() => _connection.Disconnect();

    private sealed class Connection
    {
        public readonly string Host;
        public readonly int Port;
        public readonly TimeProvider Time;
        public readonly string Description;

        public const string PeerClosedCause = "the peer closed the connection";

        public Socket? Socket;

        /// <summary>A write came since the last tick (and checked the peer just before it).</summary>
        public bool WroteSinceTick;

        /// <summary>Backoff in <see cref="Time"/> ticks: the wait scheduled after the last failure; 0 = none.</summary>
        public long Backoff;
        public long NextAttempt;
        public bool Attempted;
        public long ConnectAttempts;
        public string? LastError;

        private readonly long _initialBackoff;
        private readonly long _maxBackoff;
        private readonly int _connectTimeoutMicroseconds;
        private readonly int _sendTimeoutMilliseconds;
        private bool _sentOnThisConnection;

        public Connection(string host, int port, TimeSpan initial, TimeSpan max, TimeSpan connect, TimeSpan send, TimeProvider time)
        {
            Host = host;
            Port = port;
            Time = time;
            _initialBackoff = ToTicks(initial, time);
            _maxBackoff = ToTicks(max, time);
            _connectTimeoutMicroseconds = (int)Math.Min(connect.TotalMicroseconds, int.MaxValue);
            _sendTimeoutMilliseconds = (int)Math.Clamp(send.TotalMilliseconds, 1, int.MaxValue);
            Description = host.Contains(':', StringComparison.Ordinal) ? $"tcp [{host}]:{port}" : $"tcp {host}:{port}";
        }

        public bool Send(Socket socket, ReadOnlySpan<byte> batch, out string? error)
        {
            int sent = 0;
            while (sent < batch.Length)
            {
                int n = socket.Send(batch[sent..], SocketFlags.None, out SocketError result);
                if (result != SocketError.Success || n <= 0)
                {
                    return SendFailed(result, out error);
                }

                sent += n;
            }

            if (!_sentOnThisConnection)
            {
                Connected();
            }

            error = null;
            return true;
        }

        /// <summary>
        /// Whether the peer has closed its side: its FIN makes the socket readable with nothing to
        /// read. Anything a peer sends (a sink peer should send nothing) is read and discarded.
        /// </summary>
        public bool PeerClosed(Socket socket) => socket.Poll(0, SelectMode.SelectRead) && DrainAndCheckClosed(socket);

        [MethodImpl(MethodImplOptions.NoInlining)]
        public bool TryWriteDisconnected(ReadOnlySpan<byte> batch, out string? error)
        {
            long now = Time.GetTimestamp();
            if (Socket is not null)
            {
                Lost(now, PeerClosedCause);
            }

            if (Attempted && now < NextAttempt)
            {
                long milliseconds = (long)(((Int128)(NextAttempt - now) * 1000 + Time.TimestampFrequency - 1) / Time.TimestampFrequency);
                error = $"{Description}: {LastError ?? "disconnected"}; reconnecting in {milliseconds} ms";
                return false;
            }

            if (!TryConnect(now, out error))
            {
                return false;
            }

            return Send(Socket!, batch, out error);
        }

        public void Lost(long now, string cause)
        {
            Disconnect();
            Attempted = true;
            ScheduleRetry(now);
            Volatile.Write(ref LastError, cause);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public bool TryConnect(long now, out string? error)
        {
            Attempted = true;
            Volatile.Write(ref ConnectAttempts, ConnectAttempts + 1);
            string cause;
            IPAddress[] addresses;
            if (IPAddress.TryParse(Host, out IPAddress? literal))
            {
                addresses = [literal];
            }
            else
            {
                try
                {
                    addresses = Dns.GetHostAddresses(Host);
                }
                catch (SocketException e)
                {
                    return ConnectFailed(now, $"cannot resolve '{Host}': {e.Message}", out error);
                }
            }

            cause = $"'{Host}' has no addresses";
            foreach (IPAddress address in addresses)
            {
                Socket? socket = TryConnect(address, out cause);
                if (socket is not null)
                {
                    _sentOnThisConnection = false;
                    Volatile.Write(ref Socket, socket);
                    error = null;
                    return true;
                }
            }

            return ConnectFailed(now, $"cannot connect: {cause}", out error);
        }

        public void Disconnect()
        {
            Socket? socket = Socket;
            if (socket is null)
            {
                return;
            }

            Volatile.Write(ref Socket, null);
            try
            {
                // Lets the kernel deliver what is queued, then send FIN; the peer reads to the end.
                socket.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
            }

            socket.Dispose();
        }

        private Socket? TryConnect(IPAddress address, out string cause)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.NoDelay = true;

                // Non-blocking connect + poll: the only way to bound the wait on a synchronous socket.
                socket.Blocking = false;
                try
                {
                    socket.Connect(new IPEndPoint(address, Port));
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
                {
                    if (!socket.Poll(_connectTimeoutMicroseconds, SelectMode.SelectWrite))
                    {
                        cause = $"{address}: timed out after {_connectTimeoutMicroseconds / 1000} ms";
                        socket.Dispose();
                        return null;
                    }

                    var result = (SocketError)(int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
                    if (result != SocketError.Success)
                    {
                        cause = $"{address}: {Text(result)}";
                        socket.Dispose();
                        return null;
                    }
                }

                socket.Blocking = true;
                socket.SendTimeout = _sendTimeoutMilliseconds;
                cause = "";
                return socket;
            }
            catch (SocketException e)
            {
                cause = $"{address}: {Text(e.SocketErrorCode)}";
                socket.Dispose();
                return null;
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static bool DrainAndCheckClosed(Socket socket)
        {
            Span<byte> discard = stackalloc byte[512];
            while (socket.Available > 0)
            {
                int n = socket.Receive(discard, SocketFlags.None, out SocketError result);
                if (result != SocketError.Success || n <= 0)
                {
                    return true;
                }
            }

            return socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private bool SendFailed(SocketError result, out string? error)
        {
            string cause = result == SocketError.WouldBlock || result == SocketError.TimedOut
                ? $"send timed out after {_sendTimeoutMilliseconds} ms (the peer is not reading)"
                : $"send failed: {Text(result)}";
            Lost(Time.GetTimestamp(), cause);
            error = $"{Description}: {cause}";
            return false;
        }

        private void Connected()
        {
            _sentOnThisConnection = true;
            Volatile.Write(ref Backoff, 0);
            if (LastError is not null)
            {
                Volatile.Write(ref LastError, null);
            }
        }

        private bool ConnectFailed(long now, string cause, out string? error)
        {
            long delay = ScheduleRetry(now);
            Volatile.Write(ref LastError, cause);
            error = $"{Description}: {cause}; retrying in {(long)ToTimeSpan(delay).TotalMilliseconds} ms";
            return false;
        }

        /// <summary>Doubles the backoff (or starts it) and schedules the next attempt; returns the wait.</summary>
        private long ScheduleRetry(long now)
        {
            long delay = Backoff == 0 ? _initialBackoff : Math.Min(Backoff * 2, _maxBackoff);
            Volatile.Write(ref Backoff, delay);
            NextAttempt = now + delay;
            return delay;
        }

        public TimeSpan ToTimeSpan(long timestampTicks) =>
            TimeSpan.FromTicks((long)((Int128)timestampTicks * TimeSpan.TicksPerSecond / Time.TimestampFrequency));

        // Integer arithmetic: 100 ms must be exactly 100 ms on any clock, not 99.999… after a double round trip.
        private static long ToTicks(TimeSpan span, TimeProvider time) =>
            (long)((Int128)span.Ticks * time.TimestampFrequency / TimeSpan.TicksPerSecond);

        private static string Text(SocketError error) => new SocketException((int)error).Message;
    }
}
