using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using EventDaemon.Client.Internal;

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
/// <para>With <see cref="EventClientOptions.RequestAcks"/>, frames are appended to a bounded window
/// of unsettled frames instead (which is also the batch), acks are read whenever a batch is
/// written, and a full window waits for acks. After a broken connection (any
/// <see cref="SocketException"/> or <see cref="IOException"/> from a send or a read),
/// <see cref="Reconnect"/> connects again and writes every unsettled frame first: each frame reaches
/// the daemon at least once, and may reach it twice.</para>
/// </remarks>
public sealed class EventClient : IDisposable
{
    /// <summary>Default batch: large enough to amortise a syscall over hundreds of small events.</summary>
    public const int DefaultBatchBytes = 64 * 1024;

    /// <summary>The <c>flags</c> byte of a frame (PROTOCOL.md §2).</summary>
    private const int FlagsOffset = 5;

    private readonly byte[] _batch;
    private readonly EndPoint? _endPoint;
    private readonly int _batchBytes;
    private readonly UnackedWindow? _window;
    private readonly IAckObserver? _observer;
    private readonly byte[] _ackBuffer = [];
    private Socket _socket;
    private int _batchLength;
    private int _ackFill;
    private long _connectionAccepted;
    private long _connectionRejected;
    private bool _disposed;

    private EventClient(Socket socket, int batchBytes)
    {
        _socket = socket;
        _batch = new byte[batchBytes];
        _batchBytes = batchBytes;
    }

    private EventClient(Socket socket, EndPoint endPoint, EventClientOptions options)
    {
        _socket = socket;
        _endPoint = endPoint;
        _batchBytes = options.BatchBytes;
        if (options.RequestAcks)
        {
            _batch = [];
            _window = new UnackedWindow(Math.Max(options.MaxUnacknowledgedBytes, options.BatchBytes), options.MaxUnacknowledgedFrames);
            _observer = options.AckObserver;
            _ackBuffer = new byte[AckFrame.Size * 256];
        }
        else
        {
            _batch = new byte[options.BatchBytes];
        }
    }

    /// <summary>Whether frames ask for acks and are kept until settled.</summary>
    public bool RequestsAcks => _window is not null;

    /// <summary>Frames the daemon accepted and made durable, over every connection of this client.</summary>
    public long FramesAccepted { get; private set; }

    /// <summary>Frames the daemon skipped for their content (<c>bad_value</c>, <c>invalid_utf8</c>), over every connection.</summary>
    public long FramesRejected { get; private set; }

    /// <summary>Frames settled by acks (accepted + rejected).</summary>
    public long FramesAcknowledged => FramesAccepted + FramesRejected;

    /// <summary>Frames appended and not yet settled (kept for a resend).</summary>
    public int UnacknowledgedFrames => _window?.Count ?? 0;

    /// <summary>Frames written again by <see cref="Reconnect"/>, in total.</summary>
    public long FramesResent { get; private set; }

    /// <summary>Events appended since connect (sent or still batched).</summary>
    public long EventsAppended { get; private set; }

    /// <summary>Bytes handed to the socket so far.</summary>
    public long BytesSent { get; private set; }

    /// <summary>Bytes waiting in the current batch.</summary>
    public int PendingBytes => _window?.UnsentBytes ?? _batchLength;

    /// <summary>
    /// The connection's socket, for a caller that waits on it itself: a paced sender waits for acks
    /// between its writes with a nanosecond <c>ppoll</c> for <c>POLLIN</c> (<see cref="PollAcks"/>
    /// waits in whole milliseconds), then calls <see cref="PollAcks"/> with no wait to read what
    /// arrived. Only to wait on: bytes read or written through it directly would be lost to the
    /// client's framing. <see cref="Reconnect"/> replaces it and <see cref="Dispose"/> closes it.
    /// </summary>
    public SafeSocketHandle SocketHandle => _socket.SafeHandle;

    /// <summary>Connects over TCP or a Unix stream socket, with <paramref name="options"/>; <see cref="Reconnect"/> needs a client made here.</summary>
    public static EventClient Connect(EndPoint endPoint, EventClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchBytes, 64);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxUnacknowledgedFrames, 1);
        return new EventClient(Open(endPoint), endPoint, options);
    }

    /// <summary>Connects over TCP to <paramref name="host"/> (resolved once) with <paramref name="options"/>.</summary>
    public static EventClient ConnectTcp(string host, int port, EventClientOptions options)
    {
        IPAddress address = IPAddress.TryParse(host, out IPAddress? parsed) ? parsed : Dns.GetHostAddresses(host)[0];
        return Connect(new IPEndPoint(address, port), options);
    }

    /// <summary>
    /// After a broken connection (or to move on): closes the socket, connects again to the same
    /// place, and writes every frame not settled yet before anything new. Throws what the connect
    /// throws (the daemon may not be back yet: call again). Returns the frames written again.
    /// </summary>
    public int Reconnect()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_endPoint is null)
        {
            throw new InvalidOperationException("only a client made by EventClient.Connect knows where to reconnect");
        }

        Socket socket = Open(_endPoint);
        _socket.Dispose();
        _socket = socket;
        _ackFill = 0;
        _connectionAccepted = 0;
        _connectionRejected = 0;
        int resent = 0;
        if (_window is not null)
        {
            resent = _window.Rewind();
            FramesResent += resent;
            Flush();
        }
        else
        {
            // Without acks nothing is kept: what was batched goes on the new connection.
            Flush();
        }

        return resent;
    }

    /// <summary>
    /// Writes what is batched, then reads acks until every frame appended so far is settled or
    /// <paramref name="timeout"/> passes. True when all are settled. Throws on a broken connection.
    /// </summary>
    public bool WaitForAcks(TimeSpan timeout)
    {
        UnackedWindow window = _window ?? throw new InvalidOperationException("this client does not request acks");
        Flush();
        long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!window.IsEmpty)
        {
            long left = deadline - Stopwatch.GetTimestamp();
            if (left <= 0)
            {
                return false;
            }

            ReadAcks(waitMicros: (int)Math.Min(left * 1_000_000 / Stopwatch.Frequency, 100_000));
        }

        return true;
    }

    /// <summary>Reads the acks that have arrived, waiting up to <paramref name="wait"/> for the first
    /// (a sender with nothing due waits here instead of sleeping, so it reads acks as they come).
    /// The wait is rounded down to whole milliseconds (a shorter one does not wait); with none it only reads what is
    /// there. Throws when the daemon has closed the connection.</summary>
    public void PollAcks(TimeSpan wait = default)
    {
        if (_window is not null)
        {
            ReadAcks(waitMicros: (int)Math.Clamp(wait.TotalMicroseconds, 0, int.MaxValue));
        }
    }

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

    /// <summary>Appends one binary frame (with <c>ack_requested</c> set when this client requests acks).</summary>
    public void SendFrame(in FrameEvent e)
    {
        if (_window is not null)
        {
            AppendAcked(in e);
            return;
        }

        int length = BinaryFrameWriter.GetFrameLength(in e);
        Span<byte> target = Reserve(length);
        BinaryFrameWriter.Write(target, in e);
        Commit(length);
    }

    /// <summary>
    /// Appends one frame already encoded (a load generator renders its frames once and patches their
    /// time). With acks, its <c>ack_requested</c> bit is set here and it is kept until settled; the
    /// length prefix must cover the span exactly.
    /// </summary>
    public void SendEncodedFrame(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < BinaryFrameWriter.HeaderSize || BinaryPrimitives.ReadUInt32LittleEndian(frame) != frame.Length - 4)
        {
            throw new ArgumentException("not one whole binary frame: its length prefix does not cover the span", nameof(frame));
        }

        if (_window is null)
        {
            frame.CopyTo(Reserve(frame.Length));
            Commit(frame.Length);
            return;
        }

        Span<byte> target = ReserveAcked(frame.Length);
        frame.CopyTo(target);
        target[FlagsOffset] |= BinaryFrameWriter.FlagAckRequested;
        CommitAcked(frame.Length);
    }

    /// <summary>Appends raw bytes as they are (counted as one event); for tests of malformed input.</summary>
    public void SendRaw(ReadOnlySpan<byte> bytes)
    {
        if (_window is not null)
        {
            throw new InvalidOperationException("a client that requests acks sends binary frames only (SendFrame)");
        }

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

    /// <summary>Writes the pending batch (and, with acks, reads those that arrived).</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_window is not null)
        {
            FlushWindow();
            return;
        }

        if (_batchLength == 0)
        {
            return;
        }

        SendAll(_batch.AsSpan(0, _batchLength));
        _batchLength = 0;
    }

    /// <summary>Flushes, then half-closes the connection so the daemon sees end-of-stream. With
    /// acks, then reads them until the daemon closes its side (it does once what it read is durable,
    /// after the last ack): afterwards <see cref="UnacknowledgedFrames"/> is what was not kept.</summary>
    public void Complete()
    {
        Flush();
        _socket.Shutdown(SocketShutdown.Send);
        if (_window is not null)
        {
            while (ReadAcks(waitMicros: 100_000, endExpected: true))
            {
            }
        }
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

    private static Socket Open(EndPoint endPoint)
    {
        Socket socket = endPoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Connect(endPoint);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return socket;
    }

    private void AppendAcked(in FrameEvent e)
    {
        int length = BinaryFrameWriter.GetFrameLength(in e);
        Span<byte> target = ReserveAcked(length);
        var acked = new FrameEvent
        {
            Timestamp = e.Timestamp,
            Value = e.Value,
            Type = e.Type,
            Key = e.Key,
            Payload = e.Payload,
            HasType = e.HasType,
            HasKey = e.HasKey,
            AckRequested = true,
        };
        BinaryFrameWriter.Write(target, in acked);
        CommitAcked(length);
    }

    private Span<byte> ReserveAcked(int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        UnackedWindow window = _window!;
        if (length > window.Capacity)
        {
            throw new ArgumentException($"a frame of {length} bytes does not fit the {window.Capacity}-byte window of unacknowledged frames; raise MaxUnacknowledgedBytes.");
        }

        Span<byte> target = window.TryReserve(length);
        while (target.IsEmpty)
        {
            // The window is full: what it holds must be written and settled before more is taken.
            FlushWindow();
            ReadAcks(waitMicros: 100_000);
            target = window.TryReserve(length);
        }

        return target;
    }

    private void CommitAcked(int length)
    {
        UnackedWindow window = _window!;
        window.Commit(length, Stopwatch.GetTimestamp());
        EventsAppended++;
        if (window.UnsentBytes >= _batchBytes)
        {
            FlushWindow();
        }
    }

    private void FlushWindow()
    {
        UnackedWindow window = _window!;
        while (window.UnsentBytes > 0)
        {
            int sent = _socket.Send(window.Unsent[..Math.Min(window.UnsentBytes, _batchBytes)], SocketFlags.None);
            window.MarkSent(sent);
            BytesSent += sent;
        }

        ReadAcks(waitMicros: 0);
    }

    /// <summary>Reads whatever acks have arrived, waiting up to <paramref name="waitMicros"/> for the
    /// first byte. False once the daemon has closed its side, when <paramref name="endExpected"/>
    /// (after <see cref="Complete"/>); otherwise that close is a broken connection and throws.</summary>
    private bool ReadAcks(int waitMicros, bool endExpected = false)
    {
        if (!_socket.Poll(waitMicros, SelectMode.SelectRead))
        {
            return true;
        }

        while (true)
        {
            int n = _socket.Receive(_ackBuffer.AsSpan(_ackFill), SocketFlags.None);
            if (n == 0)
            {
                return endExpected ? false : throw new IOException("the daemon closed the connection");
            }

            _ackFill += n;
            int whole = _ackFill / AckFrame.Size * AckFrame.Size;
            if (whole > 0)
            {
                // Cumulative: only the newest ack of what arrived matters.
                Settle(AckFrame.Read(_ackBuffer.AsSpan(whole - AckFrame.Size, AckFrame.Size)));
                _ackBuffer.AsSpan(whole, _ackFill - whole).CopyTo(_ackBuffer);
                _ackFill -= whole;
            }

            if (_socket.Available == 0)
            {
                return true;
            }
        }
    }

    private void Settle(AckFrame ack)
    {
        FramesAccepted += ack.Accepted - _connectionAccepted;
        FramesRejected += ack.Rejected - _connectionRejected;
        _connectionAccepted = ack.Accepted;
        _connectionRejected = ack.Rejected;
        _window!.Settle(ack.Settled, _observer, Stopwatch.GetTimestamp());
    }

    private Span<byte> Reserve(int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_window is not null)
        {
            throw new InvalidOperationException("a client that requests acks sends binary frames only (SendFrame)");
        }

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
