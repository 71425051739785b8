namespace EventDaemon.Daemon.Http.Internal;

/// <summary>Where an HTTP connection is in its one exchange (every reply says <c>Connection: close</c>).</summary>
internal enum HttpConnectionState
{
    /// <summary>The slot holds no connection.</summary>
    Free,

    /// <summary>Waiting for the request head, until the read deadline.</summary>
    Reading,

    /// <summary>Sending the reply, until the write deadline.</summary>
    Writing,

    /// <summary>
    /// Reply sent and our side shut: reading and discarding what the client still sends until it
    /// closes, so that closing with its bytes unread does not reset the connection and destroy
    /// the reply before the client has read it.
    /// </summary>
    Lingering,
}

/// <summary>
/// One slot of the HTTP server's fixed connection table, owned by its loop thread. The head
/// buffer is allocated the first time the slot is used and kept.
/// </summary>
internal sealed class HttpConnection
{
    public int Fd { get; private set; } = -1;

    public HttpConnectionState State { get; set; }

    /// <summary>The server's count of accepted connections when this one was: to drop the oldest first.</summary>
    public long Serial { get; private set; }

    /// <summary>The deadline of the current state (Environment.TickCount64).</summary>
    public long Deadline { get; set; }

    /// <summary>The request head so far; <see cref="HttpServer.MaxHeadBytes"/> long.</summary>
    public byte[] Buffer { get; private set; } = [];

    public int Filled { get; set; }

    public byte[] Reply { get; private set; } = [];

    public int Sent { get; set; }

    /// <summary>Nothing received yet: the first kind of connection dropped when the table is full.</summary>
    public bool IsSilent => State == HttpConnectionState.Reading && Filled == 0;

    public void Open(int fd, long serial, long readDeadline)
    {
        if (Buffer.Length == 0)
        {
            Buffer = new byte[HttpServer.MaxHeadBytes];
        }

        Fd = fd;
        Serial = serial;
        Deadline = readDeadline;
        State = HttpConnectionState.Reading;
        Filled = 0;
        Sent = 0;
        Reply = [];
    }

    public void StartWriting(byte[] reply, long writeDeadline)
    {
        Reply = reply;
        Sent = 0;
        Deadline = writeDeadline;
        State = HttpConnectionState.Writing;
    }

    /// <summary>Forgets the descriptor (the caller closes it) and frees the slot.</summary>
    public int Release()
    {
        int fd = Fd;
        Fd = -1;
        State = HttpConnectionState.Free;
        Reply = [];
        return fd;
    }
}
