using System.Buffers;
using System.Net;
using System.Net.Sockets;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Hosting;
using EventDaemon.Daemon.Metrics;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Ingest;

namespace EventDaemon.Daemon.Sources;

/// <summary>
/// A TCP or Unix stream source: one accept thread, and one reader thread per connection (blocking
/// reads; the thread is what blocks when the ring is full, so the kernel's receive window fills and
/// the sender slows down: backpressure without buffering).
/// </summary>
public sealed class StreamSource : Source
{
    /// <summary>One read: 64 KiB, the largest TCP receive that loopback typically hands over.</summary>
    private const int ReadBufferBytes = 64 * 1024;

    /// <summary>How often a blocked read wakes to notice a stop.</summary>
    private const int QuietMillis = 100;

    private readonly EndPoint _endPoint;
    private readonly string _description;
    private readonly EventRing _ring;
    private readonly BadInputLog _errors;
    private readonly SourceFormat _format;
    private readonly int _maxEventBytes;
    private readonly int _maxConnections;
    private readonly string? _unixPath;
    private readonly List<Connection> _connections = [];

    /// <summary>Decoder state of closed connections, reused by new ones: connections come and go,
    /// their 200 KiB of buffers should not.</summary>
    private readonly Stack<StreamIngest> _idle = new();
    private Socket? _listener;
    private Thread? _acceptThread;
    private volatile bool _stopping;
    private long _quietDeadline;

    public StreamSource(SourceConfig config, SourceMetrics metrics, EventRing ring, BadInputLog errors, int maxEventBytes)
        : base(config.Name, metrics)
    {
        _ring = ring;
        _errors = errors;
        _format = config.Format;
        _maxEventBytes = maxEventBytes;
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
        _acceptThread = new Thread(AcceptLoop) { Name = $"src-{Name}", IsBackground = true };
        _acceptThread.Start();
    }

    public override void Stop(TimeSpan timeout)
    {
        if (_stopping || _listener is null)
        {
            return;
        }

        _stopping = true;
        Volatile.Write(ref _quietDeadline, Environment.TickCount64 + (long)timeout.TotalMilliseconds);
        _listener.Dispose();
        _acceptThread?.Join();
        Connection[] open;
        lock (_connections)
        {
            open = [.. _connections];
        }

        foreach (Connection c in open)
        {
            c.Thread.Join();
        }

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

    private void AcceptLoop()
    {
        while (!_stopping)
        {
            Socket client;
            try
            {
                client = _listener!.Accept();
            }
            catch (Exception) when (_stopping)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            lock (_connections)
            {
                if (_connections.Count >= _maxConnections)
                {
                    Metrics.AddDropped(DropReason.MaxConnections);
                    client.Dispose();
                    continue;
                }

                var connection = new Connection(this, client);
                _connections.Add(connection);
                Metrics.ConnectionOpened();
                connection.Thread.Start();
            }
        }
    }

    private StreamIngest RentIngest()
    {
        lock (_connections)
        {
            if (_idle.TryPop(out StreamIngest? ingest))
            {
                ingest.Reset();
                return ingest;
            }
        }

        return new StreamIngest(_ring, Metrics, _errors, _format, _maxEventBytes, wait: true);
    }

    private void Closed(Connection connection, StreamIngest ingest)
    {
        lock (_connections)
        {
            _connections.Remove(connection);
            if (_idle.Count < 64)
            {
                _idle.Push(ingest);
            }
        }

        Metrics.ConnectionClosed();
    }

    private sealed class Connection
    {
        private readonly StreamSource _source;
        private readonly Socket _socket;

        public Connection(StreamSource source, Socket socket)
        {
            _source = source;
            _socket = socket;
            if (socket.ProtocolType == ProtocolType.Tcp)
            {
                socket.NoDelay = true;
            }

            // Small stacks: a reader needs little, and there may be a thousand of them.
            Thread = new Thread(Run, 256 * 1024) { Name = $"src-{source.Name}-conn", IsBackground = true };
        }

        public Thread Thread { get; }

        private void Run()
        {
            StreamIngest ingest = _source.RentIngest();
            byte[] buffer = ArrayPool<byte>.Shared.Rent(ReadBufferBytes);
            // A blocking read that gives up after a quiet spell, so the loop notices a stop: one
            // system call per read while data flows (a poll before each read would double that).
            _socket.ReceiveTimeout = QuietMillis;
            try
            {
                while (true)
                {
                    int n = _socket.Receive(buffer, SocketFlags.None, out SocketError status);
                    if (status is SocketError.TimedOut or SocketError.WouldBlock)
                    {
                        // Quiet for QuietMillis: nothing while running; while stopping, what the
                        // sender sent before the stop has all been read.
                        if (_source._stopping)
                        {
                            break;
                        }

                        continue;
                    }

                    if (n <= 0 || status != SocketError.Success)
                    {
                        ingest.Complete();
                        break;
                    }

                    if (_source._stopping && Environment.TickCount64 >= Volatile.Read(ref _source._quietDeadline))
                    {
                        // Stopping, and the grace period is over: what this read got still counts.
                        FeedOrClose(ingest, buffer.AsSpan(0, n));
                        break;
                    }

                    if (!FeedOrClose(ingest, buffer.AsSpan(0, n)))
                    {
                        break;
                    }
                }
            }
            catch (SocketException)
            {
                // The peer reset the connection: what was read is already in the ring.
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
                _socket.Dispose();
                _source.Closed(this, ingest);
            }
        }

        /// <returns>false when the connection must close: a frame we cannot parse leaves no boundary to resync on.</returns>
        private bool FeedOrClose(StreamIngest ingest, ReadOnlySpan<byte> data)
        {
            FrameError error = ingest.Feed(data);
            if (error == FrameError.None)
            {
                return true;
            }

            Log.Warning($"source '{_source.Name}': closed the connection from {(_socket.RemoteEndPoint is IPEndPoint peer ? peer.ToString() : "a local client")}: bad binary frame ({error.Label()})");
            return false;
        }
    }
}
