using System.Net;
using System.Net.Sockets;

namespace EventDaemon.Client;

/// <summary>
/// Sends events to an eventd source over TCP or a Unix stream socket, batching them so each
/// socket write carries many events. Synchronous and single-threaded by design: a load generator
/// runs one client per sending thread.
/// </summary>
/// <remarks>
/// Events are appended to a batch buffer allocated once; the batch is written when the next event
/// would not fit, or on <see cref="Flush"/>. Sending blocks while the daemon pushes back (its
/// kernel receive window is full), which is exactly the backpressure a load generator must feel.
/// </remarks>
public sealed class EventClient : IDisposable
{
    /// <summary>Default batch: large enough to amortise a syscall over hundreds of small events.</summary>
    public const int DefaultBatchBytes = 64 * 1024;

    private readonly Socket _socket;
    private readonly byte[] _batch;
    private int _batchLength;
    private bool _disposed;

    private EventClient(Socket socket, int batchBytes)
    {
        _socket = socket;
        _batch = new byte[batchBytes];
    }

    /// <summary>Events appended since connect (sent or still batched).</summary>
    public long EventsAppended { get; private set; }

    /// <summary>Bytes handed to the socket so far.</summary>
    public long BytesSent { get; private set; }

    /// <summary>Bytes waiting in the current batch.</summary>
    public int PendingBytes => _batchLength;

    /// <summary>Connects over TCP (Nagle off: batching is done here).</summary>
    public static EventClient ConnectTcp(string host, int port, int batchBytes = DefaultBatchBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchBytes, 64);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Connect(host, port);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new EventClient(socket, batchBytes);
    }

    /// <summary>Connects over TCP to an endpoint.</summary>
    public static EventClient ConnectTcp(IPEndPoint endPoint, int batchBytes = DefaultBatchBytes)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchBytes, 64);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Connect(endPoint);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new EventClient(socket, batchBytes);
    }

    /// <summary>Connects to a Unix stream socket at <paramref name="path"/>.</summary>
    public static EventClient ConnectUnix(string path, int batchBytes = DefaultBatchBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchBytes, 64);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new EventClient(socket, batchBytes);
    }

    /// <summary>Appends one JSON object line; a <c>\n</c> is added unless the line already ends with one.</summary>
    public void SendJsonLine(ReadOnlySpan<byte> utf8Line)
    {
        bool hasNewline = !utf8Line.IsEmpty && utf8Line[^1] == (byte)'\n';
        int length = utf8Line.Length + (hasNewline ? 0 : 1);
        Span<byte> target = Reserve(length);
        utf8Line.CopyTo(target);
        if (!hasNewline)
        {
            target[^1] = (byte)'\n';
        }

        Commit(length);
    }

    /// <summary>Appends one event with the well-known fields as a JSON line.</summary>
    public void SendJson(long? timestamp, ReadOnlySpan<byte> type, ReadOnlySpan<byte> key, double? value)
    {
        int max = JsonEventWriter.GetMaxLength(type.Length, key.Length);
        Span<byte> target = Reserve(max);
        JsonEventWriter.TryWrite(target, timestamp, type, key, value, out int written);
        Commit(written);
    }

    /// <summary>Appends one binary frame.</summary>
    public void SendFrame(in FrameEvent e)
    {
        int length = BinaryFrameWriter.GetFrameLength(in e);
        Span<byte> target = Reserve(length);
        BinaryFrameWriter.Write(target, in e);
        Commit(length);
    }

    /// <summary>Appends raw bytes as they are (counted as one event); for tests of malformed input.</summary>
    public void SendRaw(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > _batch.Length)
        {
            Flush();
            SendAll(bytes);
            EventsAppended++;
            return;
        }

        bytes.CopyTo(Reserve(bytes.Length));
        Commit(bytes.Length);
    }

    /// <summary>Writes the pending batch.</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_batchLength == 0)
        {
            return;
        }

        SendAll(_batch.AsSpan(0, _batchLength));
        _batchLength = 0;
    }

    /// <summary>Flushes, then half-closes the connection so the daemon sees end-of-stream.</summary>
    public void Complete()
    {
        Flush();
        _socket.Shutdown(SocketShutdown.Send);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _socket.Dispose();
    }

    private Span<byte> Reserve(int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (length > _batch.Length)
        {
            throw new ArgumentException($"an event of {length} bytes does not fit the {_batch.Length}-byte batch buffer; connect with a larger batchBytes.");
        }

        if (_batch.Length - _batchLength < length)
        {
            Flush();
        }

        return _batch.AsSpan(_batchLength, length);
    }

    private void Commit(int length)
    {
        _batchLength += length;
        EventsAppended++;
    }

    private void SendAll(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            int sent = _socket.Send(bytes, SocketFlags.None);
            bytes = bytes[sent..];
            BytesSent += sent;
        }
    }
}
