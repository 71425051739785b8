using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using EventDaemon.Daemon.Tests.Sinks.Interop;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace EventDaemon.Daemon.Tests.Sinks;

internal static class Wait
{
    /// <summary>Polls <paramref name="condition"/> until it holds or the deadline passes; no blind sleeps.</summary>
    public static bool Until(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                return false;
            }

            Thread.Sleep(1);
        }

        return true;
    }
}

internal static class Batches
{
    /// <summary>A batch of whole, newline-terminated lines totalling exactly <paramref name="length"/> bytes, tagged with <paramref name="id"/>.</summary>
    public static byte[] Make(int id, int length)
    {
        var text = new StringBuilder(length);
        int line = 0;
        while (text.Length < length)
        {
            int remaining = length - text.Length;
            text.Append(Line(id, line++, remaining <= 160 ? remaining : 100));
        }

        return Encoding.ASCII.GetBytes(text.ToString());
    }

    private static string Line(int id, int line, int length)
    {
        string prefix = $"{{\"batch\":{id},\"line\":{line},\"pad\":\"";
        const string Suffix = "\"}\n";
        return length >= prefix.Length + Suffix.Length
            ? prefix + new string((char)('a' + (id % 26)), length - prefix.Length - Suffix.Length) + Suffix
            : new string('x', length - 1) + "\n";
    }

    public static byte[] Concat(IEnumerable<byte[]> parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>Where two byte strings first differ, for assertion messages.</summary>
    public static string FirstDifference(byte[] expected, byte[] actual)
    {
        int n = Math.Min(expected.Length, actual.Length);
        for (int i = 0; i < n; i++)
        {
            if (expected[i] != actual[i])
            {
                return $"first difference at byte {i} of {expected.Length} expected / {actual.Length} received";
            }
        }

        return $"lengths differ: {expected.Length} expected, {actual.Length} received";
    }
}

/// <summary>Bytes a test peer received, with a condition wait on their count.</summary>
internal sealed class Received
{
    private readonly MemoryStream _bytes = new();

    // A plain object: Monitor.Wait/PulseAll need monitor locking, which System.Threading.Lock is not.
    private readonly object _gate = new();
    private bool _ended;

    public void Append(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            _bytes.Write(data);
            Monitor.PulseAll(_gate);
        }
    }

    public void End()
    {
        lock (_gate)
        {
            _ended = true;
            Monitor.PulseAll(_gate);
        }
    }

    public bool Ended
    {
        get
        {
            lock (_gate)
            {
                return _ended;
            }
        }
    }

    public long Length
    {
        get
        {
            lock (_gate)
            {
                return _bytes.Length;
            }
        }
    }

    /// <summary>Everything received once at least <paramref name="length"/> bytes arrived, or what arrived by the deadline.</summary>
    public byte[] WaitFor(long length, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        lock (_gate)
        {
            while (_bytes.Length < length && !_ended)
            {
                TimeSpan left = timeout - clock.Elapsed;
                if (left <= TimeSpan.Zero)
                {
                    break;
                }

                Monitor.Wait(_gate, left);
            }

            return _bytes.ToArray();
        }
    }
}

/// <summary>A TCP server on loopback that records what each accepted connection receives.</summary>
internal sealed class TestTcpPeer : IDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(Socket Socket, Received Received)> _connections = [];
    private readonly Lock _gate = new();
    private readonly Task _acceptor;

    /// <param name="port">0 for any free port; a fixed port to come back on after <see cref="Stop"/>.</param>
    public TestTcpPeer(int port = 0)
    {
        _listener = new TcpListener(IPAddress.Loopback, port);
        // The closed connection's TIME_WAIT must not keep a restarted peer off its port.
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptor = Task.Run(AcceptLoop);
    }

    public int Port { get; }

    public int ConnectionCount
    {
        get
        {
            lock (_gate)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>The <paramref name="index"/>th accepted connection's bytes, waiting for it to be accepted.</summary>
    public Received Connection(int index, TimeSpan timeout)
    {
        Assert.True(Wait.Until(() => ConnectionCount > index, timeout), $"connection {index} to port {Port} was not accepted within {timeout}");
        lock (_gate)
        {
            return _connections[index].Received;
        }
    }

    /// <summary>Stops listening and closes every accepted connection, like a peer process exiting.</summary>
    public void Stop()
    {
        _stop.Cancel();
        _listener.Stop();
        try
        {
            _acceptor.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
        }

        lock (_gate)
        {
            foreach ((Socket socket, _) in _connections)
            {
                socket.Dispose();
            }
        }
    }

    public void Dispose() => Stop();

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var received = new Received();
            lock (_gate)
            {
                _connections.Add((socket, received));
            }

            _ = Task.Run(() => ReceiveLoop(socket, received));
        }
    }

    private static async Task ReceiveLoop(Socket socket, Received received)
    {
        byte[] buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None);
                if (n == 0)
                {
                    break;
                }

                received.Append(buffer.AsSpan(0, n));
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        received.End();
    }
}

/// <summary>A pipe whose write end is non-blocking, so writes larger than its 64 KiB come back partial and then EAGAIN.</summary>
internal sealed unsafe class NonBlockingPipe : IDisposable
{
    private readonly Thread _reader;
    private readonly FileStream _readEnd;
    private int _writeFd;

    /// <param name="readChunk">Bytes per read: small, so the writer keeps finding the pipe full.</param>
    /// <param name="startReader">False leaves the read end idle (a blocked read would keep it open past <see cref="CloseReadEnd"/>).</param>
    public NonBlockingPipe(int readChunk = 4096, bool startReader = true)
    {
        int* fds = stackalloc int[2];
        Assert.True(TestLibc.pipe(fds) == 0, $"pipe failed: errno {Marshal.GetLastPInvokeError()}");
        _writeFd = fds[1];
        int flags = TestLibc.fcntl(_writeFd, TestLibc.FGetFl, 0);
        Assert.True(flags >= 0 && TestLibc.fcntl(_writeFd, TestLibc.FSetFl, flags | TestLibc.ONonBlock) == 0, "could not make the pipe non-blocking");
        _readEnd = new FileStream(new SafeFileHandle(fds[0], ownsHandle: true), FileAccess.Read, bufferSize: 0);
        _reader = new Thread(() => Drain(readChunk)) { IsBackground = true, Name = "pipe-reader" };
        if (startReader)
        {
            _reader.Start();
        }
    }

    public int WriteFd => _writeFd;

    public Received Received { get; } = new();

    /// <summary>Closes the write end: the reader sees end of file.</summary>
    public void CloseWriteEnd()
    {
        if (_writeFd >= 0)
        {
            TestLibc.close(_writeFd);
            _writeFd = -1;
        }
    }

    /// <summary>Closes the read end: later writes fail with EPIPE.</summary>
    public void CloseReadEnd() => _readEnd.Dispose();

    public void Dispose()
    {
        CloseWriteEnd();
        if (_reader.IsAlive)
        {
            _reader.Join(TimeSpan.FromSeconds(10));
        }

        _readEnd.Dispose();
    }

    private void Drain(int chunk)
    {
        byte[] buffer = new byte[chunk];
        try
        {
            int n;
            while ((n = _readEnd.Read(buffer, 0, buffer.Length)) > 0)
            {
                Received.Append(buffer.AsSpan(0, n));
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
        }

        Received.End();
    }
}

/// <summary>A clock the test moves by hand, so backoff is checked without waiting or timing thresholds.</summary>
internal sealed class ManualClock : TimeProvider
{
    private long _now = 1_000_000_000_000;

    public override long TimestampFrequency => Stopwatch.Frequency;

    public override long GetTimestamp() => Volatile.Read(ref _now);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _now, (long)((Int128)by.Ticks * Stopwatch.Frequency / TimeSpan.TicksPerSecond));
}

internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = Directory.CreateTempSubdirectory("eventd-test-").FullName;
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// A TCP peer on loopback that accepts connections and reads nothing until <see cref="StartReading"/>
/// (a live peer that is slow), with a small receive buffer so a writer finds the window closed
/// after little data. <see cref="Reset"/> ends a connection with RST, like a peer that crashed.
/// </summary>
internal sealed class StalledTcpPeer : IDisposable
{
    private const int ReceiveBufferBytes = 32 * 1024;

    private readonly Socket _listener;
    private readonly Thread _acceptor;
    private readonly List<(Socket Socket, Received Received)> _connections = [];
    private readonly Lock _gate = new();
    private volatile bool _reading;
    private volatile bool _disposed;

    public StalledTcpPeer()
    {
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            // Inherited by accepted sockets; set before listen so the advertised window is small from the start.
            ReceiveBufferSize = ReceiveBufferBytes,
        };
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(16);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _acceptor = new Thread(Accept) { IsBackground = true, Name = "stalled-peer" };
        _acceptor.Start();
    }

    public int Port { get; }

    public int ConnectionCount
    {
        get
        {
            lock (_gate)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>The <paramref name="index"/>th accepted connection's bytes, waiting for it to be accepted.</summary>
    public Received Connection(int index, TimeSpan timeout)
    {
        Assert.True(Wait.Until(() => ConnectionCount > index, timeout), $"connection {index} to port {Port} was not accepted within {timeout}");
        lock (_gate)
        {
            return _connections[index].Received;
        }
    }

    /// <summary>From now on every connection, present and future, is read.</summary>
    public void StartReading()
    {
        lock (_gate)
        {
            _reading = true;
            foreach ((Socket socket, Received received) in _connections)
            {
                StartReader(socket, received);
            }
        }
    }

    /// <summary>Closes the <paramref name="index"/>th connection with RST (SO_LINGER 0): what it had not read is discarded.</summary>
    public void Reset(int index)
    {
        Socket socket;
        lock (_gate)
        {
            socket = _connections[index].Socket;
        }

        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    }

    public void Dispose()
    {
        _disposed = true;
        _listener.Dispose();
        _acceptor.Join();
        lock (_gate)
        {
            foreach ((Socket socket, _) in _connections)
            {
                socket.Dispose();
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

            var received = new Received();
            lock (_gate)
            {
                _connections.Add((socket, received));
                if (_reading)
                {
                    StartReader(socket, received);
                }
            }
        }
    }

    private static void StartReader(Socket socket, Received received)
    {
        new Thread(() =>
        {
            byte[] buffer = new byte[64 * 1024];
            try
            {
                int n;
                while ((n = socket.Receive(buffer)) > 0)
                {
                    received.Append(buffer.AsSpan(0, n));
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }

            received.End();
        })
        { IsBackground = true, Name = "stalled-peer-read" }.Start();
    }
}
