namespace EventDaemon.Daemon.Control.Internal;

/// <summary>Where a control connection is in its one exchange.</summary>
internal enum ConnectionState
{
    /// <summary>The slot holds no connection.</summary>
    Free,

    /// <summary>Waiting for the command line, until the read deadline.</summary>
    Reading,

    /// <summary>The command runs off the loop (reload); the loop neither reads nor writes meanwhile.</summary>
    Running,

    /// <summary>Sending the reply, until the write deadline; then the server closes.</summary>
    Writing,

    /// <summary>Streaming a stage's events (<c>tap</c>) until the client leaves or stops reading.</summary>
    Tapping,
}

/// <summary>
/// One slot of the control server's fixed connection table: a raw descriptor and its progress.
/// Slots are made once, with the server, and reused; the command buffer is allocated the first
/// time a slot is used and kept, so a storm of connections allocates nothing per connection but
/// its reply.
/// </summary>
/// <remarks>
/// Owned by the loop thread, except for <see cref="Complete"/>, which the thread running a slow
/// command calls once while the slot is <see cref="ConnectionState.Running"/> (and the loop leaves
/// it alone); the loop then takes the reply with <see cref="TryTakeCompleted"/>.
/// </remarks>
internal sealed class ControlConnection
{
    private byte[]? _completed;

    public int Fd { get; private set; } = -1;

    public ConnectionState State { get; set; }

    /// <summary>The server's count of accepted connections when this one was: to drop the oldest first when the table is full (a clock would tie within one burst).</summary>
    public long Serial { get; private set; }

    /// <summary>The read deadline while reading, the write deadline while writing (Environment.TickCount64).</summary>
    public long Deadline { get; set; }

    /// <summary>The command line so far; <see cref="ControlServer.MaxCommandBytes"/> long.</summary>
    public byte[] Buffer { get; private set; } = [];

    public int Filled { get; set; }

    /// <summary>The command handed to the slow-command thread.</summary>
    public string Command { get; set; } = "";

    public byte[] Reply { get; private set; } = [];

    public int Sent { get; set; }

    /// <summary>The stream of a <see cref="ConnectionState.Tapping"/> connection.</summary>
    public TapStream? Tap { get; private set; }

    /// <summary>Nothing received yet: the first kind of connection dropped when the table is full.</summary>
    public bool IsSilent => State == ConnectionState.Reading && Filled == 0;

    public void Open(int fd, long serial, long readDeadline)
    {
        if (Buffer.Length == 0)
        {
            Buffer = new byte[ControlServer.MaxCommandBytes];
        }

        Fd = fd;
        Serial = serial;
        Deadline = readDeadline;
        State = ConnectionState.Reading;
        Filled = 0;
        Sent = 0;
        Reply = [];
        Command = "";
    }

    public void StartWriting(byte[] reply, long writeDeadline)
    {
        Reply = reply;
        Sent = 0;
        Deadline = writeDeadline;
        State = ConnectionState.Writing;
    }

    /// <summary>Streams <paramref name="tap"/> (already attached) until the connection is released.</summary>
    public void StartTapping(TapStream tap, long writeDeadline)
    {
        Tap = tap;
        Deadline = writeDeadline;
        State = ConnectionState.Tapping;
    }

    /// <summary>Called once by the slow-command thread with the reply; the release pairs with the loop's acquire.</summary>
    public void Complete(byte[] reply) => Volatile.Write(ref _completed, reply);

    /// <summary>The slow command's reply once it is ready, and only once.</summary>
    public bool TryTakeCompleted(out byte[] reply)
    {
        reply = Interlocked.Exchange(ref _completed, null)!;
        return reply is not null;
    }

    /// <summary>Forgets the descriptor (the caller closes it) and frees the slot.</summary>
    public int Release()
    {
        int fd = Fd;
        Fd = -1;
        Tap?.Tap.Detach();
        Tap = null;
        State = ConnectionState.Free;
        Reply = [];
        Command = "";
        return fd;
    }
}
