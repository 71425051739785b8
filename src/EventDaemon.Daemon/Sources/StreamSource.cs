using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Interop;
using EventDaemon.Daemon.Metrics;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Ingest;

namespace EventDaemon.Daemon.Sources;

/// <summary>
/// A TCP or Unix stream source: a few I/O threads (<c>io_threads</c>) multiplex its connections with
/// epoll (<see cref="IoThread"/>); the first also accepts. A connection costs a descriptor and its
/// partial line or frame, not a thread. When the ring is full a connection is paused (not read), so
/// the kernel's receive window fills and the sender slows down: backpressure without buffering and
/// without blocking the thread the other connections share.
/// </summary>
public sealed unsafe partial class StreamSource : Source, IDurableHorizonListener
{
    /// <summary>One read: 64 KiB, the largest TCP receive that loopback typically hands over.</summary>
    private const int ReadBufferBytes = 64 * 1024;

    /// <summary>Closed connections' state kept for new ones: enough to absorb churn, small enough
    /// that memory falls back after a storm of connections.</summary>
    private const int ConnectionPoolBound = 64;

    /// <summary>Descriptors kept free below the process limit for the control socket, sinks and
    /// the stats read: new connections past that line are refused as <c>fd_limit</c>.</summary>
    private const int FdHeadroom = 64;

    private readonly EndPoint _endPoint;
    private readonly string _description;
    private readonly EventRing _ring;
    private readonly BadInputLog _errors;
    private readonly SourceFormat _format;
    private readonly int _maxEventBytes;
    private readonly int _maxConnections;
    private readonly int _ioThreads;
    private readonly string? _unixPath;
    private readonly Lock _poolLock = new();
    private readonly Stack<StreamConnection> _idleConnections = new();
    private readonly Stack<IngestBuffers> _idleBuffers = new();
    private readonly ManualResetEventSlim _listenerReleased = new();
    private IoThread[] _threads = [];
    private Socket? _listener;
    private int _reserveFd = -1;
    private int _open;
    private int _nextThread;
    private volatile bool _stopping;
    private long _stopDeadline;

    /// <param name="ioThreads">Event loops for the connections; 0 = one per CPU.</param>
    /// <param name="idleTimeout">Connections silent this long are closed; zero = never.</param>
    /// <param name="horizon">What acks and the half-close wait for (a journal's synced sequence);
    /// null = the ring's published cursor, as without a journal.</param>
    public StreamSource(SourceConfig config, SourceMetrics metrics, EventRing ring, BadInputLog errors, int maxEventBytes,
        int ioThreads = 0, TimeSpan idleTimeout = default, IDurableHorizon? horizon = null)
        : base(config.Name, metrics)
    {
        _ring = ring;
        Horizon = horizon ?? new RingPublishedHorizon(ring);
        _errors = errors;
        _format = config.Format;
        _maxEventBytes = maxEventBytes;
        _ioThreads = ioThreads > 0 ? ioThreads : Math.Clamp(Environment.ProcessorCount, 1, 64);
        IdleTimeoutMillis = (long)idleTimeout.TotalMilliseconds;
        switch (config)
        {
            case TcpSourceConfig tcp:
                _endPoint = tcp.EndPoint;
                _maxConnections = tcp.MaxConnections;
                _description = $"tcp {tcp.Address}";
                break;
            case UnixSourceConfig unix:
                _endPoint = new UnixDomainSocketEndPoint(unix.Path);
                _unixPath = unix.Path;
                _maxConnections = unix.MaxConnections;
                _description = $"unix {unix.Path}";
                break;
            default:
                throw new ArgumentException($"{config.TypeName} is not a stream source", nameof(config));
        }
    }

    /// <summary>Connections are closed after this long without data; 0 = never.</summary>
    internal long IdleTimeoutMillis { get; }

    internal bool Stopping => _stopping;

    /// <summary>The highest ring sequence that is durable: what acks and the half-close wait for.</summary>
    internal IDurableHorizon Horizon { get; }

    /// <summary><see cref="Environment.TickCount64"/> past which a stop closes connections still sending.</summary>
    /// <remarks>Acquire read; written once before <see cref="Stopping"/> is set.</remarks>
    internal long StopDeadline => Volatile.Read(ref _stopDeadline);

    /// <summary>The process's open-file limit (RLIMIT_NOFILE), read at start.</summary>
    internal long FdLimit { get; private set; }

    /// <summary>A descriptor this high means the process is <see cref="FdHeadroom"/> from its limit.</summary>
    internal int FdCeiling { get; private set; } = int.MaxValue;

    /// <summary>Event loops serving the connections.</summary>
    internal int IoThreadCount => _ioThreads;

    /// <summary>The bound address (with the real port when the config asked for port 0).</summary>
    public EndPoint? LocalEndPoint => _listener?.LocalEndPoint;

    public override string Describe() => _description;

    public override void Start()
    {
        var listener = new Socket(_endPoint.AddressFamily, SocketType.Stream,
            _unixPath is null ? ProtocolType.Tcp : ProtocolType.Unspecified);
        try
        {
            if (_unixPath is not null)
            {
                PrepareUnixPath(_unixPath);
            }
            else
            {
                // SO_REUSEADDR alone (SOL_SOCKET = 1, SO_REUSEADDR = 2 on Linux), so a restart can bind
                // while old connections sit in TIME_WAIT. Not SocketOptionName.ReuseAddress: on Linux .NET
                // sets SO_REUSEPORT with it, and a second daemon could then bind the same port and
                // silently take part of the connections instead of failing with "address in use".
                listener.SetRawSocketOption(1, 2, BitConverter.GetBytes(1));
            }

            listener.Bind(_endPoint);
            listener.Listen(512);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            string fix = e.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => "another process is listening there: stop it or change the address",
                SocketError.AccessDenied => "permission denied: use a port above 1023 or a writable path",
                SocketError.AddressNotAvailable => "no local interface has that address",
                _ => e.Message,
            };
            throw new SourceBindException($"source '{Name}': cannot listen on {_description}: {fix}", e);
        }

        _listener = listener;
        ReadFdLimit();
        OpenReserve();
        listener.Blocking = false;
        int listenFd = (int)listener.SafeHandle.DangerousGetHandle();
        var threads = new IoThread[_ioThreads];
        try
        {
            for (int i = 0; i < threads.Length; i++)
            {
                threads[i] = new IoThread(this, i, i == 0 ? listenFd : -1);
            }
        }
        catch (SourceBindException)
        {
            listener.Dispose();
            _listener = null;
            CloseReserve();
            throw;
        }

        _threads = threads;

        // Before the threads start: a move between a thread's first settle and a later subscription
        // would not wake it, and the threads do not poll the horizon.
        Horizon.Subscribe(this);
        foreach (IoThread thread in threads)
        {
            thread.Start();
        }
    }

    /// <summary>The horizon's thread, after each move: the I/O threads that have acks waiting write
    /// them (on this thread while they sleep, else on their own, woken).</summary>
    void IDurableHorizonListener.DurableHorizonMoved()
    {
        // Full fence between the horizon's store and the reads of the threads' flags: paired with
        // the one a thread makes between raising its flag and reading the horizon, no wake is lost.
        Interlocked.MemoryBarrier();
        IoThread[] threads = _threads;
        for (int i = 0; i < threads.Length; i++)
        {
            threads[i].HorizonMoved();
        }
    }

    public override void Stop(TimeSpan timeout)
    {
        if (_stopping || _listener is null)
        {
            return;
        }

        Volatile.Write(ref _stopDeadline, Environment.TickCount64 + (long)timeout.TotalMilliseconds);
        _stopping = true;
        foreach (IoThread thread in _threads)
        {
            thread.Wake();
        }

        // The accepting thread lets go of the listener first, so its descriptor is not closed (and
        // its number reused) under an accept4 in flight.
        _listenerReleased.Wait();
        _listener.Dispose();
        foreach (IoThread thread in _threads)
        {
            thread.Join();
        }

        Horizon.Unsubscribe(this);

        CloseReserve();
        if (_unixPath is not null)
        {
            File.Delete(_unixPath);
        }
    }

    private static void PrepareUnixPath(string path)
    {
        string? dir = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        if (File.Exists(path))
        {
            // A socket file left by a process that died: refuse only if something still answers.
            using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new SourceBindException($"cannot listen on unix {path}: another process is listening there");
            }
            catch (SocketException)
            {
                File.Delete(path);
            }
        }
    }

    /// <summary>Accepting thread: a new connection, refused past <c>max_connections</c>, else dealt to the next I/O thread.</summary>
    internal void Admit(int fd, long now)
    {
        if (Interlocked.Increment(ref _open) > _maxConnections)
        {
            // Counted before the close: a client that sees the close and asks stats finds it counted.
            Interlocked.Decrement(ref _open);
            Metrics.AddDropped(DropReason.MaxConnections);
            Libc.close(fd);
            return;
        }

        StreamConnection connection = RentConnection();
        connection.Fd = fd;
        connection.LastActivity = now;
        Metrics.ConnectionOpened();
        IoThread thread = _threads[_nextThread];
        _nextThread = (_nextThread + 1) % _threads.Length;
        thread.Adopt(connection);
    }

    /// <summary>An I/O thread closed <paramref name="connection"/>: its state goes back to the pool.</summary>
    internal void Closed(StreamConnection connection)
    {
        Interlocked.Decrement(ref _open);
        Metrics.ConnectionClosed();
        connection.Ingest.Reset();
        connection.ResetAcks();
        connection.Fd = -1;
        connection.CloseWhenResumed = false;
        lock (_poolLock)
        {
            if (_idleConnections.Count < ConnectionPoolBound)
            {
                _idleConnections.Push(connection);
            }
        }
    }

    internal IngestBuffers RentBuffers()
    {
        lock (_poolLock)
        {
            if (_idleBuffers.TryPop(out IngestBuffers? buffers))
            {
                return buffers;
            }
        }

        return new IngestBuffers(ReadBufferBytes, _maxEventBytes);
    }

    internal void ReturnBuffers(IngestBuffers buffers)
    {
        buffers.Clear();
        lock (_poolLock)
        {
            // Spares beyond a few are left to the collector: paused connections borrow them only
            // while the ring is full.
            if (_idleBuffers.Count < 4)
            {
                _idleBuffers.Push(buffers);
            }
        }
    }

    /// <summary>Accepting thread, out of descriptors: closes the reserve to accept and close the
    /// pending connection (its client sees a close, not a hang), then takes the reserve back.</summary>
    internal void RefuseWithReserve(int listenFd)
    {
        if (_reserveFd < 0)
        {
            return;
        }

        Libc.close(_reserveFd);
        _reserveFd = -1;
        int pending = Libc.accept4(listenFd, null, null, Libc.SockNonBlock | Libc.SockCloseOnExec);
        if (pending >= 0)
        {
            Metrics.AddDropped(DropReason.FdLimit);
            Libc.close(pending);
        }

        OpenReserve();
    }

    internal void ListenerReleased() => _listenerReleased.Set();

    /// <summary>The accepting thread will adopt no more connections (a stop is under way).</summary>
    internal bool IsListenerReleased => _listenerReleased.IsSet;

    internal StreamConnection RentConnection()
    {
        lock (_poolLock)
        {
            if (_idleConnections.TryPop(out StreamConnection? connection))
            {
                return connection;
            }
        }

        return new StreamConnection(new StreamIngest(_ring, Metrics, _errors, _format, _maxEventBytes, pauseWhenFull: true));
    }

    /// <summary>Reads RLIMIT_NOFILE into <see cref="FdLimit"/> and <see cref="FdCeiling"/>.</summary>
    internal void ReadFdLimit()
    {
        Libc.RLimit limit;
        if (Libc.getrlimit(Libc.RLimitNoFile, &limit) == 0 && limit.Current < int.MaxValue)
        {
            FdLimit = (long)limit.Current;
            FdCeiling = (int)Math.Max(FdHeadroom, (long)limit.Current - FdHeadroom);
        }
    }

    private void OpenReserve()
    {
        fixed (byte* path = "/dev/null\0"u8)
        {
            _reserveFd = Libc.open(path, Libc.OReadOnly | Libc.OCloseOnExec, 0);
        }
    }

    private void CloseReserve()
    {
        if (_reserveFd >= 0)
        {
            Libc.close(_reserveFd);
            _reserveFd = -1;
        }
    }
}
