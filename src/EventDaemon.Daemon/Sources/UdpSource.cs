using System.Net;
using System.Net.Sockets;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Metrics;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Ingest;

namespace EventDaemon.Daemon.Sources;

/// <summary>
/// A UDP source: one thread reads datagrams (each holding one or more newline-separated JSON
/// lines, or binary frames). A datagram sender cannot be pushed back on, so when the ring is full
/// events are dropped and counted as <c>events_dropped_total{reason="ring_full"}</c>.
/// </summary>
public sealed class UdpSource : Source
{
    /// <summary>The largest UDP payload.</summary>
    private const int DatagramBytes = 65_507;

    private readonly IPEndPoint _endPoint;
    private readonly string _description;
    private readonly EventRing _ring;
    private readonly BadInputLog _errors;
    private readonly SourceFormat _format;
    private readonly int _maxEventBytes;
    private Socket? _socket;
    private Thread? _thread;
    private volatile bool _stopping;

    public UdpSource(UdpSourceConfig config, SourceMetrics metrics, EventRing ring, BadInputLog errors, int maxEventBytes)
        : base(config.Name, metrics)
    {
        _ring = ring;
        _errors = errors;
        _format = config.Format;
        _maxEventBytes = maxEventBytes;
        _endPoint = config.EndPoint;
        _description = $"udp {config.Address}";
    }

    public EndPoint? LocalEndPoint => _socket?.LocalEndPoint;

    public override string Describe() => _description;

    public override void Start()
    {
        var socket = new Socket(_endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // A larger kernel buffer absorbs bursts while a consumer catches up (the kernel caps it
            // at net.core.rmem_max).
            socket.ReceiveBufferSize = 4 * 1024 * 1024;
            socket.Bind(_endPoint);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            string fix = e.SocketErrorCode == SocketError.AddressAlreadyInUse
                ? "another process is bound there: stop it or change the address"
                : e.Message;
            throw new SourceBindException($"source '{Name}': cannot bind {_description}: {fix}", e);
        }

        _socket = socket;
        _thread = new Thread(Run) { Name = $"src-{Name}", IsBackground = true };
        _thread.Start();
    }

    public override void Stop(TimeSpan timeout)
    {
        if (_stopping || _socket is null)
        {
            return;
        }

        _stopping = true;
        _thread?.Join();
        _socket.Dispose();
    }

    private void Run()
    {
        var ingest = new StreamIngest(_ring, Metrics, _errors, _format, _maxEventBytes, pauseWhenFull: false);
        var buffers = new IngestBuffers(DatagramBytes + 1, _maxEventBytes);
        byte[] buffer = buffers.Read;
        while (true)
        {
            // Drain what the kernel holds, then notice a stop at the next quiet moment.
            if (!_socket!.Poll(100_000, SelectMode.SelectRead))
            {
                if (_stopping)
                {
                    return;
                }

                continue;
            }

            int n;
            try
            {
                n = _socket.Receive(buffer);
            }
            catch (SocketException)
            {
                continue;
            }

            if (n <= 0)
            {
                continue;
            }

            // Each datagram stands alone: a last line without a newline is complete, and nothing
            // carries over into the next datagram.
            ingest.Feed(buffers, n);
            ingest.Complete(buffers);
            ingest.Reset();
        }
    }
}
