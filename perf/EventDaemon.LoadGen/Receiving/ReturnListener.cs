using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using EventDaemon.LoadGen.Generation;
using EventDaemon.LoadGen.Measurement;
using HdrHistogram;

namespace EventDaemon.LoadGen.Receiving;

/// <summary>
/// The other end of the latency loop: accepts the connections of whatever returns the events (an
/// eventd <c>tcp</c> sink, the forwarder floor, the baseline), reads their lines and records, per
/// line, receive time minus the intended send time the event carries in <c>ts</c>.
/// </summary>
/// <remarks>
/// One thread per connection with blocking reads; a read's lines share one receive timestamp (they
/// arrived together). Parsing finds <c>{"ts":</c> at the start of the line, where the generator put
/// it and where a sink's rendering of a binary event puts it too, and reads the digits with
/// <see cref="Utf8Parser"/>: nothing is allocated per line or per read. Recording goes into an
/// HdrHistogram <see cref="Recorder"/>, which takes values from several threads without locks and
/// hands out the interval's histogram on demand.
/// </remarks>
internal sealed class ReturnListener : IDisposable
{
    /// <summary>One minute: anything slower is a stall, clamped so it still counts.</summary>
    public const long MaxLatencyNs = 60_000_000_000;

    private readonly Socket _listener;
    private readonly Recorder _recorder = new(1, MaxLatencyNs, 3, (id, low, high, digits) => new LongHistogram(id, low, high, digits));
    private readonly List<Socket> _connections = [];
    private readonly Lock _gate = new();
    private long _countFromMonoNs = long.MaxValue;
    private long _recordFromMonoNs = long.MaxValue;
    private long _lines;
    private long _unparsed;
    private volatile bool _disposed;

    public ReturnListener(IPEndPoint endPoint)
    {
        _listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Bind(endPoint);
        _listener.Listen(64);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        new Thread(AcceptLoop) { Name = "return-accept", IsBackground = true }.Start();
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Lines of the current run received (those intended since <see cref="Begin"/>'s <c>runStartMonoNs</c>; a slow system's backlog from the run before is not counted).</summary>
    public long Lines => Interlocked.Read(ref _lines);

    /// <summary>Lines without a readable <c>ts</c> since the last <see cref="Begin"/>.</summary>
    public long Unparsed => Interlocked.Read(ref _unparsed);

    /// <summary>
    /// Starts a run: counters to zero; lines intended from <paramref name="runStartMonoNs"/> on are
    /// counted, and those from <paramref name="recordFromMonoNs"/> on recorded (before it: warm-up).
    /// </summary>
    public void Begin(long runStartMonoNs, long recordFromMonoNs)
    {
        Volatile.Write(ref _countFromMonoNs, runStartMonoNs);
        Volatile.Write(ref _recordFromMonoNs, recordFromMonoNs);
        Interlocked.Exchange(ref _lines, 0);
        Interlocked.Exchange(ref _unparsed, 0);
        _recorder.Reset();
    }

    /// <summary>Waits until <paramref name="expected"/> lines have come back or <paramref name="timeout"/> passes; true when all did.</summary>
    public bool WaitFor(long expected, TimeSpan timeout)
    {
        long deadline = Clock.NowNs() + (long)(timeout.TotalSeconds * 1e9);
        while (Lines < expected)
        {
            if (Clock.NowNs() > deadline)
            {
                return false;
            }

            Thread.Sleep(5);
        }

        return true;
    }

    /// <summary>The latencies recorded since <see cref="Begin"/>, in nanoseconds.</summary>
    public HistogramBase End()
    {
        Volatile.Write(ref _recordFromMonoNs, long.MaxValue);
        Volatile.Write(ref _countFromMonoNs, long.MaxValue);
        return _recorder.GetIntervalHistogram();
    }

    public void Dispose()
    {
        _disposed = true;
        _listener.Dispose();
        lock (_gate)
        {
            foreach (Socket s in _connections)
            {
                s.Dispose();
            }
        }
    }

    private void AcceptLoop()
    {
        while (!_disposed)
        {
            Socket s;
            try
            {
                s = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (_gate)
            {
                _connections.Add(s);
            }

            new Thread(() => ReadLoop(s)) { Name = "return-read", IsBackground = true }.Start();
        }
    }

    private void ReadLoop(Socket socket)
    {
        byte[] buffer = new byte[1 << 20];
        int kept = 0;
        try
        {
            while (true)
            {
                int n = socket.Receive(buffer.AsSpan(kept), SocketFlags.None);
                if (n == 0)
                {
                    return;
                }

                long now = Clock.NowNs();
                Span<byte> data = buffer.AsSpan(0, kept + n);
                int consumed = Scan(data, now);
                kept = data.Length - consumed;
                if (kept == buffer.Length)
                {
                    // A line longer than the buffer cannot be timed; drop it rather than stall.
                    Interlocked.Increment(ref _unparsed);
                    kept = 0;
                }
                else if (kept > 0)
                {
                    data[consumed..].CopyTo(buffer);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    private int Scan(ReadOnlySpan<byte> data, long nowMonoNs)
    {
        long countFrom = Volatile.Read(ref _countFromMonoNs);
        long from = Volatile.Read(ref _recordFromMonoNs);
        int at = 0;
        long lines = 0;
        long unparsed = 0;
        while (true)
        {
            int newline = data[at..].IndexOf((byte)'\n');
            if (newline < 0)
            {
                break;
            }

            ReadOnlySpan<byte> line = data.Slice(at, newline);
            at += newline + 1;
            if (!TryReadTs(line, out long unixNs))
            {
                unparsed++;
                continue;
            }

            long intended = Clock.FromUnix(unixNs);
            if (intended >= countFrom)
            {
                lines++;
            }

            if (intended >= from)
            {
                _recorder.RecordValue(Math.Clamp(nowMonoNs - intended, 1, MaxLatencyNs));
            }
        }

        if (lines > 0)
        {
            Interlocked.Add(ref _lines, lines);
        }

        if (unparsed > 0)
        {
            Interlocked.Add(ref _unparsed, unparsed);
        }

        return at;
    }

    private static bool TryReadTs(ReadOnlySpan<byte> line, out long unixNs)
    {
        ReadOnlySpan<byte> prefix = "{\"ts\":"u8;
        int start = line.StartsWith(prefix) ? prefix.Length : -1;
        if (start < 0)
        {
            int found = line.IndexOf("\"ts\":"u8);
            if (found < 0)
            {
                unixNs = 0;
                return false;
            }

            start = found + 5;
        }

        return Utf8Parser.TryParse(line[start..], out unixNs, out int consumed) && consumed >= EventPool.TsDigits - 2;
    }
}
