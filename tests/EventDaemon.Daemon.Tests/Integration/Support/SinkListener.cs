using System.Net;
using System.Net.Sockets;

namespace EventDaemon.Daemon.Tests.Integration.Support;

/// <summary>
/// The far end of a <c>tcp</c> sink: accepts every connection but reads nothing until
/// <see cref="StartReading"/>, so the daemon's writes back up into the kernel's buffers. Its
/// receive buffer is small, so that happens after little data.
/// </summary>
internal sealed class SinkListener : IDisposable
{
    private const int ReceiveBufferBytes = 32 * 1024;

    private readonly Socket _listener;
    private readonly Thread _acceptThread;
    private readonly List<Received> _connections = [];
    private volatile bool _reading;
    private volatile bool _disposed;

    public SinkListener(int port)
    {
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            // Inherited by accepted sockets; set before listen so the advertised window is small from the start.
            ReceiveBufferSize = ReceiveBufferBytes,
        };
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        _listener.Listen(16);
        _acceptThread = new Thread(Accept) { IsBackground = true, Name = "sink-listener" };
        _acceptThread.Start();
    }

    /// <summary>Complete lines received on all connections.</summary>
    public long Lines
    {
        get
        {
            lock (_connections)
            {
                return _connections.Sum(c => Volatile.Read(ref c.Lines));
            }
        }
    }

    /// <summary>Connections with their bytes and lines so far, for messages.</summary>
    public string Describe()
    {
        lock (_connections)
        {
            return $"{_connections.Count} connections accepted (reading: {_reading}): "
                + string.Join(", ", _connections.Select(c => $"{c.ByteCount} bytes/{Volatile.Read(ref c.Lines)} lines{(c.Ended is null ? "" : $" (ended: {c.Ended})")}"));
        }
    }

    /// <summary>From now on every connection, present and future, is read.</summary>
    public void StartReading()
    {
        _reading = true;
        lock (_connections)
        {
            foreach (Received c in _connections)
            {
                c.StartReader();
            }
        }
    }

    /// <summary>
    /// What each connection brought: its complete lines, and whether it ended inside a line (a
    /// batch cut when the daemon gave up on a connection and sent it again on a new one).
    /// </summary>
    public List<(List<string> Lines, bool EndedMidLine)> Snapshot()
    {
        lock (_connections)
        {
            return _connections.Select(c => c.Snapshot()).ToList();
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _listener.Dispose();
        _acceptThread.Join();
        lock (_connections)
        {
            foreach (Received c in _connections)
            {
                c.Socket.Dispose();
            }
        }
    }

    private void Accept()
    {
        while (!_disposed)
        {
            Socket socket;
            try
            {
                socket = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            var received = new Received(socket);
            lock (_connections)
            {
                _connections.Add(received);
                if (_reading)
                {
                    received.StartReader();
                }
            }
        }
    }

    private sealed class Received(Socket socket)
    {
        private readonly MemoryStream _bytes = new();
        private Thread? _reader;

        public readonly Socket Socket = socket;
        public long Lines;
        public string? Ended;

        public long ByteCount
        {
            get
            {
                lock (_bytes)
                {
                    return _bytes.Length;
                }
            }
        }

        public void StartReader()
        {
            if (_reader is null)
            {
                _reader = new Thread(Read) { IsBackground = true, Name = "sink-listener-read" };
                _reader.Start();
            }
        }

        public (List<string> Lines, bool EndedMidLine) Snapshot()
        {
            byte[] bytes;
            lock (_bytes)
            {
                bytes = _bytes.ToArray();
            }

            int end = Array.LastIndexOf(bytes, (byte)'\n') + 1;
            string text = System.Text.Encoding.UTF8.GetString(bytes, 0, end);
            return ([.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries)], end < bytes.Length);
        }

        private void Read()
        {
            byte[] buffer = new byte[64 * 1024];
            try
            {
                int n;
                while ((n = Socket.Receive(buffer)) > 0)
                {
                    lock (_bytes)
                    {
                        _bytes.Write(buffer, 0, n);
                    }

                    Interlocked.Add(ref Lines, buffer.AsSpan(0, n).Count((byte)'\n'));
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Reset by the daemon, or closed by Dispose.
                Ended = e.Message;
            }
        }
    }
}
