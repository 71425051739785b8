using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using EventDaemon.Daemon.Nats.Internal;

namespace EventDaemon.Daemon.Nats;

/// <summary>
/// One client connection speaking the NATS text protocol over a plain TCP socket: the handshake
/// (<c>INFO</c>/<c>CONNECT</c> with headers, <c>PING</c>/<c>PONG</c>), <c>HPUB</c> with a
/// <c>Nats-Msg-Id</c> header, <c>SUB</c>, and the parsing of <c>MSG</c>, <c>HMSG</c>, <c>PING</c>,
/// <c>PONG</c>, <c>+OK</c>, <c>-ERR</c> and <c>INFO</c> from one receive buffer.
/// </summary>
/// <remarks>
/// <para>
/// Why not NATS.Client: its publish and fetch paths allocate on its own threads (from ~50 B to
/// ~3 KB per message, measured for issue 14), and every byte of it counts in the daemon's
/// allocation and can start a gen-0 collection that stops the pinned stage threads. Here a
/// publish is formatted into a send buffer owned by the connection and a message is handed to a
/// struct handler as spans of the receive buffer: nothing is allocated per message.
/// </para>
/// <para>
/// Synchronous and single-threaded: one owner thread calls everything (a sink's thread). The
/// socket is blocking with a send timeout; reading waits in <see cref="Poll{THandler}"/> with a
/// timeout. A broken connection is closed and reported by the call that found it;
/// <see cref="TryConnect"/> connects again (the next server of the list first) and sends the
/// subscriptions again. Reconnecting is the caller's decision, so its backoff is the caller's.
/// </para>
/// </remarks>
public sealed class NatsConnection : IDisposable
{
    /// <summary>
    /// The server's default <c>max_payload</c> (1 MiB) plus room for the protocol line and headers:
    /// one message of any size the server accepts fits in a buffer, so neither side ever needs to
    /// grow or to split one.
    /// </summary>
    private const int BufferBytes = (1 << 20) + (16 << 10);

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    private readonly NatsServerAddress[] _servers;
    private readonly string _name;
    private readonly int _timeoutMilliseconds;
    private readonly List<(string Subject, int Sid)> _subscriptions = [];

    // Pinned: the socket calls copy from and into them without a fixed block per call.
    private readonly byte[] _out = GC.AllocateUninitializedArray<byte>(BufferBytes, pinned: true);
    private readonly byte[] _in = GC.AllocateUninitializedArray<byte>(BufferBytes, pinned: true);
    private int _outLength;
    private int _inStart;
    private int _inEnd;

    private Socket? _socket;
    private int _nextServer;
    private string? _lastError;
    private long _connects;
    private long _pongs;

    /// <param name="url">One server or a comma-separated list, each <c>nats://host:port</c>.</param>
    /// <param name="name">The client name the server shows in its monitoring (<c>/connz</c>).</param>
    /// <param name="timeout">Bounds connecting, the handshake and every send; 5 s when <c>null</c>.</param>
    public NatsConnection(string url, string name, TimeSpan? timeout = null)
    {
        _servers = NatsServerAddress.ParseList(url);
        _name = name;
        _timeoutMilliseconds = (int)Math.Clamp((timeout ?? DefaultTimeout).TotalMilliseconds, 1, int.MaxValue);
        Description = string.Join(",", _servers.Select(s => s.ToString()));
    }

    /// <summary>The servers, for messages: <c>127.0.0.1:4222,127.0.0.1:4223</c>.</summary>
    public string Description { get; }

    /// <remarks>This and the properties below are written by the owner thread and read with <see cref="Volatile"/> from any.</remarks>
    public bool IsConnected => Volatile.Read(ref _socket) is not null;

    /// <summary>Why the last connection attempt failed or the connection broke; <c>null</c> while connected.</summary>
    public string? LastError => Volatile.Read(ref _lastError);

    /// <summary>Successful handshakes, the first included: more than one means reconnections.</summary>
    public long Connects => Volatile.Read(ref _connects);

    /// <summary><c>PONG</c>s received: a round trip through the server for each <see cref="Ping"/>.</summary>
    public long Pongs => Volatile.Read(ref _pongs);

    /// <summary>The largest body the connected server accepts (its <c>INFO</c>'s <c>max_payload</c>).</summary>
    public int MaxPayload { get; private set; } = 1 << 20;

    /// <summary>
    /// Connects to the next server of the list that answers, completes the handshake (up to the
    /// server's <c>PONG</c>) and sends every subscription again. Cold path: allocates.
    /// </summary>
    public bool TryConnect(out string? error)
    {
        Disconnect();
        string cause = "no server";
        for (int i = 0; i < _servers.Length; i++)
        {
            NatsServerAddress server = _servers[_nextServer];
            _nextServer = (_nextServer + 1) % _servers.Length;
            if (TryConnect(server, out cause))
            {
                Volatile.Write(ref _lastError, null);
                Volatile.Write(ref _connects, _connects + 1);
                error = null;
                return true;
            }
        }

        Volatile.Write(ref _lastError, cause);
        error = $"nats {Description}: {cause}";
        return false;
    }

    /// <summary>
    /// Subscribes to <paramref name="subject"/> (wildcards allowed) as <paramref name="sid"/>, now
    /// if connected and again after every reconnection. Buffered: sent by the next <see cref="Flush"/>.
    /// </summary>
    public void Subscribe(string subject, int sid)
    {
        _subscriptions.Add((subject, sid));
        if (_socket is not null)
        {
            AppendSubscribe(subject, sid);
        }
    }

    /// <summary>
    /// Ends subscription <paramref name="sid"/>, now if connected and for every reconnection after.
    /// Buffered: sent by the next <see cref="Flush"/>. Cold path: allocates.
    /// </summary>
    public void Unsubscribe(int sid)
    {
        if (_subscriptions.RemoveAll(s => s.Sid == sid) > 0 && _socket is not null)
        {
            Append(Encoding.ASCII.GetBytes($"UNSUB {sid}\r\n"));
        }
    }

    /// <summary>
    /// Buffers one <c>HPUB</c>: <paramref name="payload"/> to <paramref name="subject"/> with
    /// <paramref name="replyTo"/> (may be empty) and a <c>Nats-Msg-Id</c> header (left out when
    /// empty). Sends the buffer first when it has no room. Returns <c>false</c> when that send
    /// broke the connection. Allocates nothing.
    /// </summary>
    public bool TryPublish(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> replyTo, ReadOnlySpan<byte> msgId, ReadOnlySpan<byte> payload,
        out string? error) =>
        TryPublish(subject, replyTo, "Nats-Msg-Id"u8, msgId, payload, out error);

    /// <summary>
    /// Buffers one <c>HPUB</c> with one header <paramref name="headerName"/>: <paramref name="headerValue"/>
    /// (left out when the value is empty): a message id, or the <c>Nats-Expected-Last-Subject-Sequence</c>
    /// that makes a key-value write conditional. Sends the buffer first when it has no room. Returns
    /// <c>false</c> when that send broke the connection. Allocates nothing.
    /// </summary>
    public bool TryPublish(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> replyTo, ReadOnlySpan<byte> headerName, ReadOnlySpan<byte> headerValue,
        ReadOnlySpan<byte> payload, out string? error)
    {
        if (_socket is null)
        {
            error = NotConnected();
            return false;
        }

        // HPUB <subject> [reply] <hdr_len> <total_len>\r\n NATS/1.0\r\n<name>: <value>\r\n\r\n <payload>\r\n
        int headerLength = "NATS/1.0\r\n"u8.Length + (headerValue.IsEmpty ? 0 : headerName.Length + 2 + headerValue.Length + 2) + 2;
        int needed = 5 + subject.Length + 1 + replyTo.Length + 1 + 11 + 1 + 11 + 2 + headerLength + payload.Length + 2;
        if (needed > _out.Length - _outLength && !Flush(out error))
        {
            return false;
        }

        if (needed > _out.Length)
        {
            error = TooLarge(payload.Length);
            return false;
        }

        Span<byte> o = _out.AsSpan(_outLength);
        int n = Put(o, 0, "HPUB "u8);
        n = Put(o, n, subject);
        o[n++] = (byte)' ';
        if (!replyTo.IsEmpty)
        {
            n = Put(o, n, replyTo);
            o[n++] = (byte)' ';
        }

        n = PutNumber(o, n, headerLength);
        o[n++] = (byte)' ';
        n = PutNumber(o, n, headerLength + payload.Length);
        n = Put(o, n, "\r\nNATS/1.0\r\n"u8);
        if (!headerValue.IsEmpty)
        {
            n = Put(o, n, headerName);
            n = Put(o, n, ": "u8);
            n = Put(o, n, headerValue);
            n = Put(o, n, "\r\n"u8);
        }

        n = Put(o, n, "\r\n"u8);
        n = Put(o, n, payload);
        n = Put(o, n, "\r\n"u8);
        _outLength += n;
        error = null;
        return true;
    }

    /// <summary>
    /// Buffers one <c>PUB</c> without headers: what JetStream's API requests (a pull) and
    /// acknowledgements (<c>+ACK</c> to a message's reply subject) are. Sends the buffer first when
    /// it has no room. Returns <c>false</c> when that send broke the connection. Allocates nothing.
    /// </summary>
    public bool TryPublishPlain(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> replyTo, ReadOnlySpan<byte> payload, out string? error)
    {
        if (_socket is null)
        {
            error = NotConnected();
            return false;
        }

        // PUB <subject> [reply] <size>\r\n<payload>\r\n
        int needed = 4 + subject.Length + 1 + replyTo.Length + 1 + 11 + 2 + payload.Length + 2;
        if (needed > _out.Length - _outLength && !Flush(out error))
        {
            return false;
        }

        if (needed > _out.Length)
        {
            error = TooLarge(payload.Length);
            return false;
        }

        Span<byte> o = _out.AsSpan(_outLength);
        int n = Put(o, 0, "PUB "u8);
        n = Put(o, n, subject);
        o[n++] = (byte)' ';
        if (!replyTo.IsEmpty)
        {
            n = Put(o, n, replyTo);
            o[n++] = (byte)' ';
        }

        n = PutNumber(o, n, payload.Length);
        n = Put(o, n, "\r\n"u8);
        n = Put(o, n, payload);
        n = Put(o, n, "\r\n"u8);
        _outLength += n;
        error = null;
        return true;
    }

    /// <summary>Bytes buffered and not yet sent.</summary>
    public int Buffered => _outLength;

    /// <summary>Buffers a <c>PING</c>; the server's <c>PONG</c> shows in <see cref="Pongs"/> after a later <see cref="Poll{THandler}"/>.</summary>
    public void Ping()
    {
        if (_socket is not null)
        {
            Append("PING\r\n"u8);
        }
    }

    /// <summary>Sends everything buffered. Returns <c>false</c> (and closes the connection) when the send fails or times out.</summary>
    public bool Flush(out string? error)
    {
        Socket? socket = _socket;
        if (socket is null)
        {
            _outLength = 0;
            error = NotConnected();
            return false;
        }

        int sent = 0;
        while (sent < _outLength)
        {
            int n = socket.Send(_out.AsSpan(sent, _outLength - sent), SocketFlags.None, out SocketError result);
            if (result != SocketError.Success || n <= 0)
            {
                _outLength = 0;
                error = Lost(result == SocketError.WouldBlock || result == SocketError.TimedOut
                    ? $"send timed out after {_timeoutMilliseconds} ms"
                    : $"send failed: {Text(result)}");
                return false;
            }

            sent += n;
        }

        _outLength = 0;
        error = null;
        return true;
    }

    /// <summary>
    /// Reads what the server sent, waiting up to <paramref name="timeoutMicroseconds"/> (0: only
    /// what has arrived) for the first bytes, and handles every complete command in it: messages go
    /// to <paramref name="handler"/>, <c>PING</c> is answered. Returns the number of messages
    /// handled, or -1 when the connection broke or the server closed it (<paramref name="error"/> says why).
    /// Allocates nothing unless the server sends <c>-ERR</c>.
    /// </summary>
    public int Poll<THandler>(ref THandler handler, int timeoutMicroseconds, out string? error)
        where THandler : INatsMessageHandler, allows ref struct
    {
        Socket? socket = _socket;
        if (socket is null)
        {
            error = NotConnected();
            return -1;
        }

        if (!socket.Poll(timeoutMicroseconds, SelectMode.SelectRead))
        {
            error = null;
            return 0;
        }

        int messages = 0;
        do
        {
            if (_inEnd == _in.Length)
            {
                Compact();
            }

            int n = socket.Receive(_in.AsSpan(_inEnd), SocketFlags.None, out SocketError result);
            if (result != SocketError.Success || n <= 0)
            {
                error = Lost(n == 0 && result == SocketError.Success ? "the server closed the connection" : $"receive failed: {Text(result)}");
                return -1;
            }

            _inEnd += n;
            int handled = Parse(ref handler, out error);
            if (handled < 0)
            {
                return -1;
            }

            messages += handled;
        }
        while (socket.Available > 0);

        Compact();
        if (_outLength > 0 && !Flush(out error))
        {
            // The PONGs owed to the server could not be sent.
            return -1;
        }

        error = null;
        return messages;
    }

    /// <summary>Closes the socket; the subscriptions are kept for the next <see cref="TryConnect"/>.</summary>
    public void Disconnect()
    {
        Socket? socket = _socket;
        _outLength = 0;
        _inStart = 0;
        _inEnd = 0;
        if (socket is null)
        {
            return;
        }

        Volatile.Write(ref _socket, null);
        socket.Dispose();
    }

    public void Dispose() => Disconnect();

    private int Parse<THandler>(ref THandler handler, out string? error)
        where THandler : INatsMessageHandler, allows ref struct
    {
        int messages = 0;
        while (true)
        {
            ReadOnlySpan<byte> data = _in.AsSpan(_inStart, _inEnd - _inStart);
            int eol = data.IndexOf("\r\n"u8);
            if (eol < 0)
            {
                error = null;
                return messages;
            }

            ReadOnlySpan<byte> line = data[..eol];
            byte first = line.IsEmpty ? (byte)0 : (byte)(line[0] | 0x20);
            if (first == (byte)'m' || first == (byte)'h')
            {
                int consumed = ParseMessage(ref handler, data, eol, first == (byte)'h', out error);
                if (consumed < 0)
                {
                    return -1;
                }

                if (consumed == 0)
                {
                    // The body has not all arrived yet.
                    return messages;
                }

                _inStart += consumed;
                messages++;
                continue;
            }

            if (first == (byte)'p')
            {
                if (line.Length >= 4 && (line[1] | 0x20) == 'i')
                {
                    Append("PONG\r\n"u8);
                }
                else
                {
                    Volatile.Write(ref _pongs, _pongs + 1);
                }
            }
            else if (first == (byte)'-')
            {
                // -ERR: the server closes the connection after most of them; say why.
                error = Lost($"server error: {Encoding.ASCII.GetString(line)}");
                return -1;
            }

            // +OK (not asked for: verbose is off) and INFO (cluster updates) need nothing.
            _inStart += eol + 2;
        }
    }

    /// <summary>
    /// <c>MSG subject sid [reply] size</c> or <c>HMSG subject sid [reply] hdr_size total_size</c>,
    /// then the body and <c>\r\n</c>. Returns the bytes consumed, 0 when the body is incomplete.
    /// </summary>
    private int ParseMessage<THandler>(ref THandler handler, ReadOnlySpan<byte> data, int eol, bool withHeaders, out string? error)
        where THandler : INatsMessageHandler, allows ref struct
    {
        ReadOnlySpan<byte> line = data[..eol];
        Span<Range> tokens = stackalloc Range[6];
        int count = Tokenize(line, tokens);
        int expected = withHeaders ? 5 : 4;
        if (count != expected && count != expected + 1)
        {
            error = Lost("malformed message line from the server");
            return -1;
        }

        bool hasReply = count == expected + 1;
        ReadOnlySpan<byte> subject = line[tokens[1]];
        ReadOnlySpan<byte> replyTo = hasReply ? line[tokens[3]] : default;
        int next = hasReply ? 4 : 3;
        int headerSize = 0;
        if (!Utf8Parser.TryParse(line[tokens[2]], out int sid, out _)
            || (withHeaders && !Utf8Parser.TryParse(line[tokens[next++]], out headerSize, out _))
            || !Utf8Parser.TryParse(line[tokens[next]], out int totalSize, out _)
            || headerSize < 0 || totalSize < headerSize)
        {
            error = Lost("malformed message line from the server");
            return -1;
        }

        int consumed = eol + 2 + totalSize + 2;
        if (consumed > _in.Length)
        {
            error = Lost($"a message of {totalSize} bytes exceeds the receive buffer");
            return -1;
        }

        if (data.Length < consumed)
        {
            error = null;
            return 0;
        }

        ReadOnlySpan<byte> body = data.Slice(eol + 2, totalSize);
        handler.OnMessage(subject, sid, replyTo, body[..headerSize], body[headerSize..]);
        error = null;
        return consumed;
    }

    private static int Tokenize(ReadOnlySpan<byte> line, Span<Range> tokens)
    {
        int count = 0;
        int i = 0;
        while (i < line.Length)
        {
            while (i < line.Length && (line[i] == (byte)' ' || line[i] == (byte)'\t'))
            {
                i++;
            }

            if (i == line.Length)
            {
                break;
            }

            int start = i;
            while (i < line.Length && line[i] != (byte)' ' && line[i] != (byte)'\t')
            {
                i++;
            }

            if (count == tokens.Length)
            {
                return count + 1;
            }

            tokens[count++] = new Range(start, i);
        }

        return count;
    }

    private void Compact()
    {
        if (_inStart == _inEnd)
        {
            _inStart = 0;
            _inEnd = 0;
        }
        else if (_inStart > 0 && _inEnd > _in.Length / 2)
        {
            // Only when past the middle: a partial message is moved at most once per half buffer.
            _in.AsSpan(_inStart, _inEnd - _inStart).CopyTo(_in);
            _inEnd -= _inStart;
            _inStart = 0;
        }
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > _out.Length - _outLength && !Flush(out _))
        {
            return;
        }

        bytes.CopyTo(_out.AsSpan(_outLength));
        _outLength += bytes.Length;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Put(Span<byte> to, int at, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(to[at..]);
        return at + bytes.Length;
    }

    private static int PutNumber(Span<byte> to, int at, int value)
    {
        Utf8Formatter.TryFormat(value, to[at..], out int written);
        return at + written;
    }

    private void AppendSubscribe(string subject, int sid) => Append(Encoding.ASCII.GetBytes($"SUB {subject} {sid}\r\n"));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryConnect(NatsServerAddress server, out string cause)
    {
        Socket? socket = ConnectSocket(server, out cause);
        if (socket is null)
        {
            return false;
        }

        try
        {
            socket.ReceiveTimeout = _timeoutMilliseconds;
            string? info = ReadLine(socket);
            if (info is null || !info.StartsWith("INFO ", StringComparison.Ordinal))
            {
                cause = $"{server}: expected INFO, got '{info ?? "nothing"}'";
                socket.Dispose();
                return false;
            }

            if (!info.Contains("\"headers\":true", StringComparison.Ordinal))
            {
                cause = $"{server}: the server does not support headers (NATS 2.2 or later is needed)";
                socket.Dispose();
                return false;
            }

            MaxPayload = ReadMaxPayload(info);
            string connect = "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true,"
                + $"\"protocol\":1,\"lang\":\"eventd\",\"version\":\"1\",\"name\":\"{_name}\"}}\r\nPING\r\n";
            socket.Send(Encoding.ASCII.GetBytes(connect));
            string? answer = ReadLine(socket);
            while (answer is not null && answer.StartsWith("INFO ", StringComparison.Ordinal))
            {
                answer = ReadLine(socket);
            }

            if (answer != "PONG")
            {
                cause = $"{server}: the handshake ended with '{answer ?? "nothing"}'";
                socket.Dispose();
                return false;
            }

            socket.ReceiveTimeout = 0;
        }
        catch (SocketException e)
        {
            cause = $"{server}: handshake: {Text(e.SocketErrorCode)}";
            socket.Dispose();
            return false;
        }

        _inStart = 0;
        _inEnd = 0;
        _outLength = 0;
        Volatile.Write(ref _socket, socket);
        foreach ((string subject, int sid) in _subscriptions)
        {
            AppendSubscribe(subject, sid);
        }

        if (_outLength > 0 && !Flush(out string? error))
        {
            cause = error ?? "send failed";
            return false;
        }

        cause = "";
        return true;
    }

    /// <summary>Reads one line of the handshake byte by byte: before the handshake ends nothing else may be read ahead.</summary>
    private static string? ReadLine(Socket socket)
    {
        var line = new StringBuilder();
        Span<byte> one = stackalloc byte[1];
        while (line.Length < 64 * 1024)
        {
            int n = socket.Receive(one);
            if (n <= 0)
            {
                return null;
            }

            if (one[0] == (byte)'\n')
            {
                return line.ToString().TrimEnd('\r');
            }

            line.Append((char)one[0]);
        }

        return null;
    }

    private static int ReadMaxPayload(string info)
    {
        const string Key = "\"max_payload\":";
        int at = info.IndexOf(Key, StringComparison.Ordinal);
        if (at < 0)
        {
            return 1 << 20;
        }

        ReadOnlySpan<char> digits = info.AsSpan(at + Key.Length);
        int end = 0;
        while (end < digits.Length && char.IsAsciiDigit(digits[end]))
        {
            end++;
        }

        return int.TryParse(digits[..end], out int value) && value > 0 ? Math.Min(value, BufferBytes - 16 * 1024) : 1 << 20;
    }

    private Socket? ConnectSocket(NatsServerAddress server, out string cause)
    {
        IPAddress[] addresses;
        if (IPAddress.TryParse(server.Host, out IPAddress? literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = Dns.GetHostAddresses(server.Host);
            }
            catch (SocketException e)
            {
                cause = $"cannot resolve '{server.Host}': {e.Message}";
                return null;
            }
        }

        cause = $"'{server.Host}' has no addresses";
        foreach (IPAddress address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.NoDelay = true;

                // Non-blocking connect + poll: the only way to bound the wait on a synchronous socket.
                socket.Blocking = false;
                try
                {
                    socket.Connect(new IPEndPoint(address, server.Port));
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
                {
                    if (!socket.Poll(_timeoutMilliseconds * 1000L > int.MaxValue ? int.MaxValue : _timeoutMilliseconds * 1000, SelectMode.SelectWrite))
                    {
                        cause = $"{server}: connect timed out after {_timeoutMilliseconds} ms";
                        socket.Dispose();
                        continue;
                    }

                    var result = (SocketError)(int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
                    if (result != SocketError.Success)
                    {
                        cause = $"{server}: {Text(result)}";
                        socket.Dispose();
                        continue;
                    }
                }

                socket.Blocking = true;
                socket.SendTimeout = _timeoutMilliseconds;
                return socket;
            }
            catch (SocketException e)
            {
                cause = $"{server}: {Text(e.SocketErrorCode)}";
                socket.Dispose();
            }
        }

        return null;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private string Lost(string cause)
    {
        Disconnect();
        Volatile.Write(ref _lastError, cause);
        return $"nats {Description}: {cause}";
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private string NotConnected() => $"nats {Description}: {_lastError ?? "not connected"}";

    [MethodImpl(MethodImplOptions.NoInlining)]
    private string TooLarge(int bytes) => $"nats {Description}: a message of {bytes} bytes does not fit the send buffer";

    private static string Text(SocketError error) => new SocketException((int)error).Message;
}
