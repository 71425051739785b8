using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EventDaemon.Daemon.Interop;

namespace EventDaemon.Daemon.Sinks.Transports;

/// <summary>
/// Sends batches over one TCP connection with <c>TCP_NODELAY</c>: one <c>send</c> per batch while
/// the peer keeps up, connecting lazily and reconnecting with exponential backoff after a failure.
/// </summary>
/// <remarks>
/// <para>
/// A peer that is alive but slow is backpressure, not an error. The socket is non-blocking; when
/// the kernel's send buffer is full, <see cref="TryWrite"/> waits for room with <c>poll</c> for at
/// most <see cref="WaitSlice"/>, then returns <c>false</c> with <see cref="IsBlocked"/> set and no
/// error, keeping the part of the batch already written. The caller offers the same batch again
/// (so it can notice a drain or reload between slices) and the write resumes where it stopped: on
/// a live connection nothing is ever sent twice, however long the peer takes. Meanwhile the sink
/// holds its place in the ring, the ring fills and the sources push back on their senders.
/// </para>
/// <para>
/// Only a real failure ends a connection: a reset, an error, or the peer's end of stream (FIN; a
/// sink peer has nothing to say, so it is leaving). <c>TCP_USER_TIMEOUT</c> is deliberately not
/// set: since Linux 5.6 it also aborts a connection whose window has stayed closed that long,
/// which is exactly a live peer that is slow. A peer host that vanished without a word is found by
/// the kernel's own limit on unanswered retransmissions and window probes (<c>tcp_retries2</c>);
/// until then it looks like a slow peer, and a drain or reload gives up on it as on one.
/// </para>
/// <para>
/// At-least-once, precisely: a batch that returned <c>true</c> is in the kernel, not known to be at
/// the peer; it is never sent again (TCP says nothing about it once the connection breaks, and the
/// sink has released it). The batch being written when the connection breaks is sent again from its
/// start on the new connection, and the events of it that had at least one byte handed to the old
/// connection are counted in <see cref="ResentEvents"/> (<c>sink_events_resent_total</c>): those,
/// and only those, may reach the peer twice. A batch found to have a dead connection before any of
/// it was written goes whole to the new one and is not counted.
/// </para>
/// <para>
/// Memory stays bounded: one connection at a time (the old one is closed before a new one is
/// opened), so what waits in the kernel for a stalled peer is one socket's send buffer, which
/// autotuning bounds by <c>net.ipv4.tcp_wmem</c>'s maximum (4 MiB by default); with the sink's batch
/// buffer and the ring, that is all a stalled peer holds. <c>SO_SNDBUF</c> is left to autotuning
/// unless <c>sendBufferBytes</c> asks otherwise, so a peer that keeps up sees the socket behave as
/// it always did; an explicit size is capped at <c>net.core.wmem_max</c> (208 KiB on a stock
/// kernel) and doubled by the kernel for its bookkeeping.
/// </para>
/// <para>
/// Backoff: the first connection is tried at the first write. After a failed attempt, or a
/// connection that breaks, the next attempt waits the backoff, which starts at
/// <c>initialBackoff</c> (100 ms) and doubles after every failed attempt up to <c>maxBackoff</c>
/// (5 s). It returns to the start once a batch has been sent on a new connection, so a peer that
/// accepts and at once drops connections is still retried slowly. Attempts happen inside
/// <see cref="TryWrite"/> and <see cref="Tick"/>; between them <see cref="TryWrite"/> returns
/// <c>false</c> at once ("reconnecting in N ms") and the caller keeps its batch.
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
    /// <param name="sendBufferBytes"><c>SO_SNDBUF</c>; left to the kernel's autotuning when <c>null</c>.</param>
    /// <param name="time">The clock backoff and <see cref="BlockedSince"/> are measured on; <see cref="Tick"/> must be given timestamps of the same clock.</param>
    /// <param name="checkpoint">With a journal (a sink of the main stream): written once the peer's TCP has
    /// acknowledged every byte of the batches it covers (the socket's send queue is empty), at most every
    /// <see cref="SinkCheckpointer.UnsyncedCommitMs"/> ms, from <see cref="Tick"/>.</param>
    public TcpTransport(
        string host,
        int port,
        TimeSpan? maxBackoff = null,
        TimeSpan? initialBackoff = null,
        TimeSpan? connectTimeout = null,
        int? sendBufferBytes = null,
        TimeProvider? time = null,
        Journal.SinkCheckpointer? checkpoint = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, IPEndPoint.MaxPort);
        TimeSpan max = maxBackoff ?? DefaultMaxBackoff;
        TimeSpan initial = initialBackoff ?? DefaultInitialBackoff;
        TimeSpan connect = connectTimeout ?? DefaultConnectTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(initial, TimeSpan.Zero, nameof(initialBackoff));
        ArgumentOutOfRangeException.ThrowIfLessThan(max, initial, nameof(maxBackoff));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(connect, TimeSpan.Zero, nameof(connectTimeout));
        int sendBuffer = sendBufferBytes ?? 0;
        ArgumentOutOfRangeException.ThrowIfNegative(sendBuffer, nameof(sendBufferBytes));
        _connection = new Connection(host, port, initial, max, connect, sendBuffer, time ?? TimeProvider.System) { Checkpoint = checkpoint };
    }

    /// <summary>100 ms: a peer restarting on the same host is usually back within a few hundred.</summary>
    public static TimeSpan DefaultInitialBackoff => TimeSpan.FromMilliseconds(100);

    /// <summary>5 s: a restarted peer is found again within seconds without a reconnect storm.</summary>
    public static TimeSpan DefaultMaxBackoff => TimeSpan.FromSeconds(5);

    /// <summary>5 s: far above any LAN round trip; an unreachable host would otherwise hold the thread for minutes of SYN retries.</summary>
    public static TimeSpan DefaultConnectTimeout => TimeSpan.FromSeconds(5);

    /// <summary>
    /// 100 ms: the longest <see cref="TryWrite"/> waits for a peer that takes nothing before it
    /// returns to the sink, which then sees a drain or reload that gives up on the batch within that.
    /// </summary>
    public static TimeSpan WaitSlice => TimeSpan.FromMilliseconds(Connection.WaitSliceMilliseconds);

    /// <remarks>This and the properties below are written by the sink's thread only and read with <see cref="Volatile"/> from any.</remarks>
    public bool IsConnected => Volatile.Read(ref _connection.Socket) is not null;

    /// <summary>The wait before the next attempt after the last failure; zero once a batch went through.</summary>
    public TimeSpan CurrentBackoff => _connection.ToTimeSpan(Volatile.Read(ref _connection.Backoff));

    /// <summary>Connection attempts made, successful or not.</summary>
    public long ConnectAttempts => Volatile.Read(ref _connection.ConnectAttempts);

    /// <summary>Why the last attempt or send failed; <c>null</c> once a batch went through.</summary>
    public string? LastError => Volatile.Read(ref _connection.LastError);

    /// <summary>Connected and not in the middle of a batch the peer is slow to take: a write goes out at
    /// once (a peer found closed by it fails the write and schedules a reconnection; it never connects
    /// in the same call).</summary>
    public bool IsReady => _connection.Socket is not null && !_connection.IsBlocked;

    public bool IsBlocked => Volatile.Read(ref _connection.IsBlocked);

    public long BlockedSince => Volatile.Read(ref _connection.BlockedSince);

    public long ResentEvents => Volatile.Read(ref _connection.ResentEvents);

    public string Describe() => _connection.Description;

    /// <summary>Connects lazily, so a peer that is not up yet does not stop the daemon from starting.</summary>
    public void Open() => _connection.Checkpoint?.Opened(0);

    /// <remarks>
    /// Returns <c>false</c> either with a reason (the connection failed or is being re-made: the
    /// batch will be written from its start on the next connection) or with <see cref="IsBlocked"/>
    /// and no reason (the peer is alive and has not taken all of it within <see cref="WaitSlice"/>).
    /// Either way the caller offers the same batch again, or calls <see cref="GiveUp"/>. (A batch of
    /// another length is taken as given up too, as a safety net.)
    /// </remarks>
    public bool TryWrite(ReadOnlySpan<byte> batch, out string? error)
    {
        Connection c = _connection;
        c.WroteSinceTick = true;
        if (batch.Length != c.BatchLength)
        {
            c.Begin(batch.Length);
        }

        Socket? socket = c.Socket;
        if (socket is null || (c.Offset == 0 && c.PeerClosed(socket)))
        {
            return c.TryWriteDisconnected(batch, out error);
        }

        return c.Send(socket, batch, out error);
    }

    /// <summary>A connection that took part of the batch holds half a line: it is closed, and the next batch goes on a new one.</summary>
    public void GiveUp() => _connection.Begin(Connection.NoBatch);

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
            if (!wrote && c.Offset == 0 && c.PeerClosed(socket))
            {
                c.Lost(nowTimestamp, Connection.PeerClosedCause);
            }
            else if (c.Checkpoint is { Pending: true } checkpoint && c.Offset == 0 && Connection.Unacknowledged(socket) == 0)
            {
                // Handed to the kernel is not delivered: only once the peer's TCP has acknowledged
                // every byte may the checkpoint pass the batches (the next start resends the rest).
                checkpoint.Commit(System.Diagnostics.Stopwatch.GetTimestamp(), limited: true);
            }
        }
        else if (c.Attempted && nowTimestamp >= c.NextAttempt)
        {
            c.TryConnect(nowTimestamp, out _);
        }
    }

    public void Close()
    {
        _connection.Disconnect();
        _connection.Begin(Connection.NoBatch);
    }

    private sealed class Connection
    {
        public const int WaitSliceMilliseconds = 100;
        public const int NoBatch = -1;
        public const string PeerClosedCause = "the peer closed the connection";

        public readonly string Host;
        public readonly int Port;
        public readonly TimeProvider Time;
        public readonly string Description;

        public Socket? Socket;

        /// <summary>With a journal: told of each batch written, committed once the peer acknowledged it.</summary>
        public Journal.SinkCheckpointer? Checkpoint;

        /// <summary>A write came since the last tick (and checked the peer just before it).</summary>
        public bool WroteSinceTick;

        /// <summary>Length of the batch being written; <see cref="NoBatch"/> between batches.</summary>
        public int BatchLength = NoBatch;

        /// <summary>Bytes of the batch handed to the current connection.</summary>
        public int Offset;

        /// <summary>Bytes of the batch that a connection which then broke had taken: resent from the start.</summary>
        public int LostOffset;

        public bool IsBlocked;
        public long BlockedSince;
        public long ResentEvents;

        /// <summary>Backoff in <see cref="Time"/> ticks: the wait scheduled after the last failure; 0 = none.</summary>
        public long Backoff;
        public long NextAttempt;
        public bool Attempted;
        public long ConnectAttempts;
        public string? LastError;

        private readonly long _initialBackoff;
        private readonly long _maxBackoff;
        private readonly int _connectTimeoutMicroseconds;
        /// <summary><c>SO_SNDBUF</c> to ask for; 0 leaves it to autotuning.</summary>
        private readonly int _sendBufferBytes;
        private bool _sentOnThisConnection;

        public Connection(string host, int port, TimeSpan initial, TimeSpan max, TimeSpan connect, int sendBuffer, TimeProvider time)
        {
            _sendBufferBytes = sendBuffer;
            Host = host;
            Port = port;
            Time = time;
            _initialBackoff = ToTicks(initial, time);
            _maxBackoff = ToTicks(max, time);
            _connectTimeoutMicroseconds = (int)Math.Min(connect.TotalMicroseconds, int.MaxValue);
            Description = host.Contains(':', StringComparison.Ordinal) ? $"tcp [{host}]:{port}" : $"tcp {host}:{port}";
        }

        /// <summary>Starts a new batch (or none). A connection holding part of an abandoned one ends mid-line: it is closed.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        public void Begin(int length)
        {
            if (Offset > 0)
            {
                Disconnect();
            }

            BatchLength = length;
            Offset = 0;
            LostOffset = 0;
            Unblocked();
        }

        /// <summary>Writes the rest of the batch, waiting at most one slice for a peer that takes nothing.</summary>
        public bool Send(Socket socket, ReadOnlySpan<byte> batch, out string? error)
        {
            long sliceEnd = 0;
            while (Offset < batch.Length)
            {
                int n = socket.Send(batch[Offset..], SocketFlags.None, out SocketError result);
                if (result == SocketError.Success && n > 0)
                {
                    Offset += n;
                    if (IsBlocked)
                    {
                        // The peer took something: the wait it is reported for starts again.
                        Unblocked();
                    }

                    continue;
                }

                if (result != SocketError.WouldBlock)
                {
                    return SendFailed(result, out error);
                }

                if (!IsBlocked)
                {
                    MarkBlocked();
                }

                long now = Environment.TickCount64;
                if (sliceEnd == 0)
                {
                    sliceEnd = now + WaitSliceMilliseconds;
                }
                else if (now >= sliceEnd)
                {
                    // Part of the batch may be written; the rest waits for the peer. Not a failure.
                    error = null;
                    return false;
                }

                if (WaitWritable(socket, (int)(sliceEnd - now)) is { } failure)
                {
                    Lost(Time.GetTimestamp(), failure);
                    error = $"{Description}: {failure}";
                    return false;
                }
            }

            return Done(out error);
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

            if (batch.IsEmpty)
            {
                error = null;
                return true;
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

            if (LostOffset > 0)
            {
                // The old connection took this much of the batch and may or may not have delivered
                // it: every event it had begun goes again, from the batch's start.
                Volatile.Write(ref ResentEvents, ResentEvents + EventsBegun(batch, LostOffset));
                LostOffset = 0;
            }

            return Send(Socket!, batch, out error);
        }

        /// <summary>Ends the connection after a failure; the batch in progress starts again on the next one.</summary>
        public void Lost(long now, string cause)
        {
            if (Offset > 0)
            {
                LostOffset = Math.Max(LostOffset, Offset);
                Offset = 0;
            }

            Disconnect();
            Unblocked();
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
                    Offset = 0;
                    Volatile.Write(ref Socket, socket);
                    error = null;
                    return true;
                }
            }

            return ConnectFailed(now, $"cannot connect: {cause}", out error);
        }

        /// <summary>Closes the connection, if any: one at a time, so a new one is opened only after this.</summary>
        public void Disconnect()
        {
            Socket? socket = Socket;
            if (socket is null)
            {
                return;
            }

            Volatile.Write(ref Socket, null);
            Offset = 0;
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

        /// <summary>
        /// Waits up to <paramref name="milliseconds"/> for room in the send buffer; returns why the
        /// connection failed meanwhile, or <c>null</c> (room, or the time is up: the next send tells).
        /// </summary>
        /// <remarks>
        /// Also waits for input: a peer's FIN must end the wait at once, not after the slice (an
        /// error or reset shows in the next send). Anything it sends is discarded, as in <see cref="PeerClosed"/>.
        /// </remarks>
        private unsafe string? WaitWritable(Socket socket, int milliseconds)
        {
            var pollFd = new Libc.PollFd { Fd = (int)socket.SafeHandle.DangerousGetHandle(), Events = Libc.PollOut | Libc.PollIn };
            int ready = Libc.poll(&pollFd, 1, milliseconds);
            if (ready < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                return errno == Libc.EIntr ? null : $"poll failed: {Internal.Errno.Describe(errno)}";
            }

            if ((pollFd.ReturnedEvents & Libc.PollIn) != 0 && DrainAndCheckClosed(socket))
            {
                return PeerClosedCause;
            }

            return null;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void MarkBlocked()
        {
            Volatile.Write(ref BlockedSince, Time.GetTimestamp());
            Volatile.Write(ref IsBlocked, true);
        }

        private void Unblocked()
        {
            if (IsBlocked)
            {
                Volatile.Write(ref IsBlocked, false);
                Volatile.Write(ref BlockedSince, 0);
            }
        }

        /// <summary>Bytes the peer has not acknowledged (<c>SIOCOUTQ</c>); -1 when it cannot be read.</summary>
        public static unsafe int Unacknowledged(Socket socket)
        {
            int queued;
            return Libc.ioctl((int)socket.Handle, Libc.SiocOutQ, &queued) == 0 ? queued : -1;
        }

        private bool Done(out string? error)
        {
            Checkpoint?.Written(0);
            BatchLength = NoBatch;
            Offset = 0;
            Unblocked();
            if (!_sentOnThisConnection)
            {
                Connected();
            }

            error = null;
            return true;
        }

        private Socket? TryConnect(IPAddress address, out string cause)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.NoDelay = true;
                if (_sendBufferBytes > 0)
                {
                    socket.SendBufferSize = _sendBufferBytes;
                }

                // Non-blocking for good: connect + poll bounds the wait to connect, and sends that
                // find the buffer full come back at once so the wait for room can be bounded too.
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

        /// <summary>Events (lines) of which at least one byte lies within the first <paramref name="bytes"/> of the batch.</summary>
        internal static long EventsBegun(ReadOnlySpan<byte> batch, int bytes)
        {
            ReadOnlySpan<byte> taken = batch[..Math.Min(bytes, batch.Length)];
            return taken.IsEmpty ? 0 : taken.Count((byte)'\n') + (taken[^1] == (byte)'\n' ? 0 : 1);
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
                    return result != SocketError.WouldBlock;
                }
            }

            return socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private bool SendFailed(SocketError result, out string? error)
        {
            string cause = $"send failed: {Text(result)}";
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
