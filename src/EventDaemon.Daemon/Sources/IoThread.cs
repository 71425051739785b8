using System.Runtime.InteropServices;
using EventDaemon.Daemon.Hosting;
using EventDaemon.Daemon.Interop;
using EventDaemon.Daemon.Metrics;
using EventDaemon.Events.BadInput;

namespace EventDaemon.Daemon.Sources;

/// <summary>
/// One event loop of a stream source: an epoll set of connections, read level-triggered into the
/// thread's one read buffer. The first thread of a source also accepts, and deals new connections
/// to the threads in turn.
/// </summary>
/// <remarks>
/// <para>Nothing here blocks but <c>epoll_wait</c>: a full ring pauses the connection (its
/// registration is removed, so the kernel's receive window fills and the sender is pushed back)
/// and the thread polls the ring every <see cref="PausedPollMillis"/> while any is paused.
/// Removal (<c>EPOLL_CTL_DEL</c>) rather than a registration without <c>EPOLLIN</c>: a reset
/// peer's <c>EPOLLHUP</c> is reported whatever the mask, and would spin the loop while paused.</para>
/// <para>One thread owns a connection from adoption to close; other threads hand it over through
/// a locked queue and the thread's eventfd, which also wakes it for a stop.</para>
/// <para>Acknowledgements (PROTOCOL.md §3) are settled once per loop turn, never per read: a
/// connection that asked for acks, or that ended (end of stream, a bad frame, a stop), waits in a
/// list until the source's durable horizon passes the last event it published; then its ack is
/// written without blocking, and an ended one is closed. A horizon that moves calls
/// <see cref="HorizonMoved"/> on its own thread (the journal's syncer, right after its
/// <c>fdatasync</c>), which writes the acks now due itself: an ack leaves without waiting for this
/// thread's wake-up, or for the end of the turn it is in (tens of microseconds at p50 on a busy VM,
/// more in the tail). Only when the loop is settling at that moment, or has work only it may do
/// (closing, an ack held back), is it woken instead. The thread polls (every
/// <see cref="SettlePollMillis"/>) only while an ack is held back by a client that does not read
/// (EAGAIN), which no horizon signals.</para>
/// <para>The acknowledgement state (the list of settling connections, each connection's points,
/// due and sent totals and ack frame, and the descriptors, which only a close under it releases) is
/// guarded by <see cref="_ackLock"/>. The loop holds it for the end of each turn (resuming, sweeping,
/// settling, stopping) and for each change to that state while it reads; reading itself, the ring and
/// the stages it runs go without it. A horizon's thread only tries it (it never waits), and then
/// acks from the points alone: the ingest's live totals may be half-way through a read.</para>
/// </remarks>
internal sealed unsafe partial class IoThread
{
    /// <summary>Readiness reports taken per <c>epoll_wait</c>.</summary>
    private const int MaxEvents = 256;

    /// <summary>Reads of one connection per wake before the others get a turn (4 x 64 KiB).</summary>
    private const int ReadsPerWake = 4;

    /// <summary>How often a paused connection retries the ring: short, since a stage frees room in microseconds.</summary>
    private const int PausedPollMillis = 1;

    /// <summary>How long a thread sleeps at most while an ack waits for room in a client's receive
    /// buffer (EAGAIN): nothing signals that room, so it is polled for. Acks waiting for the horizon
    /// are not polled for: the horizon's move wakes the thread.</summary>
    private const int SettlePollMillis = 5;

    /// <summary>Connections settling at most for a horizon's thread to write their acks itself: each
    /// is a <c>send</c> of a few microseconds that delays the journal's next sync, so a crowd of
    /// acked connections is left to the loop (woken, as for a single one before).</summary>
    private const int MaxAcksFromHorizon = 16;

    /// <summary>How often connections are checked against <c>idle_timeout</c>.</summary>
    private const int SweepMillis = 1000;

    /// <summary>After a stop, a connection silent this long has nothing more in flight.</summary>
    private const int QuietMillis = 100;

    /// <summary>How long accepting rests after meeting the descriptor limit, instead of spinning on it.</summary>
    private const int FdLimitBackoffMillis = 100;

    private const ulong WakeToken = ulong.MaxValue;
    private const ulong ListenToken = ulong.MaxValue - 1;

    private readonly StreamSource _source;
    private int _epoll;
    private int _wake;
    private readonly byte[] _events;
    private readonly Thread _thread;
    private readonly Lock _incomingLock = new();
    private readonly Queue<StreamConnection> _incoming = new();
    private readonly List<StreamConnection?> _table = [];
    private readonly Stack<int> _freeIndexes = new();
    private readonly Queue<StreamConnection> _paused = new();
    private readonly IDurableHorizon _horizon;

    // Connections waiting on the horizon or on their ack's write (see remarks); compacted in place.
    private readonly List<StreamConnection> _settling = [];

    // A connection's due ack could not be written whole at the last settle (EAGAIN): poll for room.
    private bool _ackHeldBack;

    // 1 while this thread has connections settling: a horizon that moves settles them or wakes the
    // loop (Dekker pairing with StreamSource.DurableHorizonMoved: a full fence on each side between
    // write and read).
    private int _awaitingHorizon;

    // Guards the acknowledgement state (see remarks): held by the loop at the end of each turn and
    // for each change of that state while reading, taken without waiting (TryEnter) by a horizon's
    // thread. A lock, not a flag to spin on: on two cores the horizon's thread may be preempted
    // while it holds it, and the loop must then sleep, not spin, until it lets go.
    private readonly Lock _ackLock = new();

    // The buffers reads land in; replaced when a paused connection keeps them.
    private IngestBuffers _buffers;
    private int _open;
    private int _wakePending;

    // Accepting thread only: the listener's descriptor (-1 once released for a stop), whether it is
    // in the epoll set, and when a rest at the descriptor limit ends.
    private int _listenFd = -1;
    private bool _listening;
    private long _acceptRestUntil;
    private bool _fdLimitLogged;

    private long _nextSweep;
    private bool _stopSeen;
    private long _stopTick;

    public IoThread(StreamSource source, int index, int listenFd)
    {
        _source = source;
        _horizon = source.Horizon;
        _epoll = Libc.epoll_create1(Libc.EpollCloseOnExec);
        _wake = _epoll >= 0 ? Libc.eventfd(0, Libc.EfdCloseOnExec | Libc.EfdNonBlock) : -1;
        if (_epoll < 0 || _wake < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            CloseDescriptors();
            throw new SourceBindException($"source '{source.Name}': cannot create an event loop: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        Libc.EpollControl(_epoll, Libc.EpollCtlAdd, _wake, Libc.EpollIn, WakeToken);
        if (listenFd >= 0)
        {
            _listenFd = listenFd;
            ArmListener();
        }

        _events = GC.AllocateUninitializedArray<byte>(MaxEvents * Libc.EpollEventBytes, pinned: true);
        _buffers = source.RentBuffers();
        _thread = new Thread(Run) { Name = $"io-{source.Name}-{index}", IsBackground = true };
    }

    public void Start() => _thread.Start();

    /// <summary>Waits for the loop to end, then closes its epoll set and eventfd: only now, as a
    /// <see cref="Wake"/> from a stopping source may come after the loop ended, and a closed
    /// descriptor's number may already belong to a connection.</summary>
    public void Join()
    {
        _thread.Join();
        CloseDescriptors();
    }

    /// <summary>Takes over <paramref name="connection"/>: from the accepting thread, or from itself.</summary>
    public void Adopt(StreamConnection connection)
    {
        if (Thread.CurrentThread == _thread)
        {
            Register(connection, Environment.TickCount64);
            return;
        }

        lock (_incomingLock)
        {
            _incoming.Enqueue(connection);
        }

        Wake();
    }

    /// <summary>The horizon moved (on the horizon's thread): when the loop has acks waiting, writes
    /// those that became due here and now; when the loop holds the acknowledgement state (it is
    /// settling), wakes it to settle again.</summary>
    /// <remarks>The caller issued a full fence after the horizon's store (see <see cref="_awaitingHorizon"/>).
    /// Never blocks: a lock the loop holds is not waited for.</remarks>
    public void HorizonMoved()
    {
        if (Volatile.Read(ref _awaitingHorizon) == 0)
        {
            return;
        }

        // Held by this very thread: the loop's end of turn, where a resumed connection's events ran
        // a journal stage with fsync = "never" that moved the horizon. It settles next turn.
        if (_ackLock.IsHeldByCurrentThread || !_ackLock.TryEnter())
        {
            Wake();
            return;
        }

        bool loopNeeded;
        try
        {
            loopNeeded = AckFromHorizon();
        }
        finally
        {
            _ackLock.Exit();
        }

        if (loopNeeded)
        {
            Wake();
        }
    }

    /// <summary>Makes the loop look at its queue and the source's stop flag now.</summary>
    public void Wake()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            ulong one = 1;
            Libc.write(_wake, (byte*)&one, sizeof(ulong));
        }
    }

    private void Run()
    {
        try
        {
            Loop();
        }
        finally
        {
            for (int i = 0; i < _table.Count; i++)
            {
                if (_table[i] is { } connection)
                {
                    Close(connection);
                }
            }

            _source.ReturnBuffers(_buffers);
            ReleaseListener();
        }
    }

    private void Loop()
    {
        _nextSweep = Environment.TickCount64 + SweepMillis;
        while (true)
        {
            int count;
            fixed (byte* events = _events)
            {
                count = Libc.epoll_wait(_epoll, events, MaxEvents, Timeout(Environment.TickCount64));
                if (count < 0 && Marshal.GetLastPInvokeError() != Libc.EIntr)
                {
                    Log.Error($"source '{_source.Name}': epoll_wait failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
                    return;
                }

                long now = Environment.TickCount64;
                for (int i = 0; i < count; i++)
                {
                    ulong data = Libc.EpollEventData(events, i);
                    if (data == WakeToken)
                    {
                        TakeIncoming(now);
                    }
                    else if (data == ListenToken)
                    {
                        AcceptPending(now);
                    }
                    else if ((int)data < _table.Count && _table[(int)data] is { Registered: true } connection)
                    {
                        ReadReady(connection, now);
                    }
                }
            }

            long after = Environment.TickCount64;
            if (EndTurn(after))
            {
                return;
            }
        }
    }

    /// <summary>The end of a turn, holding the acknowledgement state: resumes, sweeps, settles and
    /// takes a stop's step. True when the stop is complete.</summary>
    private bool EndTurn(long after)
    {
        using (_ackLock.EnterScope())
        {
            if (_paused.Count > 0)
            {
                ResumePaused(after);
            }

            if (_listenFd >= 0 && !_listening && after >= _acceptRestUntil)
            {
                ArmListener();
            }

            if (after >= _nextSweep)
            {
                _nextSweep = after + SweepMillis;
                CloseIdle(after);
            }

            if (_settling.Count > 0)
            {
                // Announce the wait before reading the horizon: a move after the read then acks
                // (or, the lock being held, wakes us to settle again).
                Interlocked.Exchange(ref _awaitingHorizon, 1);
                Settle();
            }

            if (_settling.Count == 0)
            {
                Volatile.Write(ref _awaitingHorizon, 0);
            }

            return _source.Stopping && StopStep(after);
        }
    }

    /// <summary>How long epoll_wait may sleep: 1 ms while paused, short while stopping or while an ack
    /// is held back, else until the next timer (acks waiting for the horizon are woken by it).</summary>
    private int Timeout(long now)
    {
        if (_paused.Count > 0)
        {
            return PausedPollMillis;
        }

        if (_source.Stopping)
        {
            return 10;
        }

        if (_ackHeldBack)
        {
            return SettlePollMillis;
        }

        long until = _source.IdleTimeoutMillis > 0 ? _nextSweep : long.MaxValue;
        if (_listenFd >= 0 && !_listening)
        {
            until = Math.Min(until, _acceptRestUntil);
        }

        return until == long.MaxValue ? -1 : (int)Math.Clamp(until - now, 0, SweepMillis);
    }

    private void TakeIncoming(long now)
    {
        ulong value;
        Libc.read(_wake, (byte*)&value, sizeof(ulong));
        Volatile.Write(ref _wakePending, 0);
        while (true)
        {
            StreamConnection? connection;
            lock (_incomingLock)
            {
                if (!_incoming.TryDequeue(out connection))
                {
                    return;
                }
            }

            Register(connection, now);
        }
    }

    private void Register(StreamConnection connection, long now)
    {
        int index = _freeIndexes.Count > 0 ? _freeIndexes.Pop() : _table.Count;
        if (index == _table.Count)
        {
            _table.Add(connection);
        }
        else
        {
            _table[index] = connection;
        }

        connection.Index = index;
        connection.LastActivity = now;
        _open++;
        Arm(connection);
    }

    private void Arm(StreamConnection connection)
    {
        if (Libc.EpollControl(_epoll, Libc.EpollCtlAdd, connection.Fd, Libc.EpollIn, (ulong)connection.Index) == 0)
        {
            connection.Registered = true;
        }
        else
        {
            // ENOMEM or the per-user epoll watch limit: nothing can be read from it.
            Log.Warning($"source '{_source.Name}': closed a connection that could not be watched: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
            Close(connection);
        }
    }

    /// <summary>The read path: what the kernel holds for <paramref name="connection"/>, into the ring.</summary>
    private void ReadReady(StreamConnection connection, long now)
    {
        for (int reads = 0; reads < ReadsPerWake; reads++)
        {
            byte[] read = _buffers.Read;
            nint n;
            fixed (byte* buffer = read)
            {
                n = Libc.recv(connection.Fd, buffer, (nuint)read.Length, 0);
            }

            if (n > 0)
            {
                connection.LastActivity = now;
                FrameError error = connection.Ingest.Feed(_buffers, (int)n);
                if (connection.Ingest.IsPaused)
                {
                    Pause(connection, closeWhenResumed: error != FrameError.None);
                    return;
                }

                if (error != FrameError.None)
                {
                    CloseBadFrame(connection, error);
                    return;
                }

                if (connection.Ingest.AckRequested && !connection.Settling)
                {
                    StartSettling(connection);
                }

                if (n < read.Length)
                {
                    // Short read: the kernel had no more (a level-triggered wake comes if it has since).
                    return;
                }

                continue;
            }

            if (n == 0)
            {
                connection.Ingest.Complete(_buffers);

                if (connection.Ingest.IsPaused)
                {
                    Pause(connection, closeWhenResumed: true);
                }
                else
                {
                    End(connection);
                }

                return;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EIntr)
            {
                continue;
            }

            if (errno != Libc.EAgain)
            {
                // Reset by the peer: what was read is already in the ring.
                Close(connection);
            }

            return;
        }
    }

    /// <summary>The ring is full: stop reading this connection until it takes the rest. It keeps the buffers its read is in.</summary>
    private void Pause(StreamConnection connection, bool closeWhenResumed)
    {
        _buffers = _source.RentBuffers();
        Libc.EpollControl(_epoll, Libc.EpollCtlDel, connection.Fd, 0, 0);
        connection.Registered = false;
        connection.CloseWhenResumed |= closeWhenResumed;
        _paused.Enqueue(connection);
    }

    /// <summary>Paused connections in the order they paused, until one finds the ring still full.</summary>
    private void ResumePaused(long now)
    {
        while (_paused.TryPeek(out StreamConnection? connection))
        {
            FrameError error = connection.Ingest.Resume(out IngestBuffers? released);
            if (connection.Ingest.IsPaused)
            {
                connection.CloseWhenResumed |= error != FrameError.None;
                return;
            }

            _paused.Dequeue();
            _source.ReturnBuffers(released!);
            if (error != FrameError.None)
            {
                CloseBadFrame(connection, error);
            }
            else if (connection.CloseWhenResumed)
            {
                End(connection);
            }
            else
            {
                connection.LastActivity = now;
                Arm(connection);
                if (connection.Ingest.AckRequested && !connection.Settling)
                {
                    StartSettling(connection);
                }
            }
        }
    }

    private void CloseIdle(long now)
    {
        long timeout = _source.IdleTimeoutMillis;
        if (timeout <= 0 || _source.Stopping)
        {
            return;
        }

        for (int i = 0; i < _table.Count; i++)
        {
            if (_table[i] is { Registered: true } connection && now - connection.LastActivity >= timeout)
            {
                _source.Metrics.AddClosed(CloseReason.IdleTimeout);
                Close(connection);
            }
        }
    }

    /// <summary>One pass of a stop: releases the listener, closes connections that went quiet (or all
    /// past the deadline; a paused one only once the ring took what it holds). True when none is left.</summary>
    private bool StopStep(long now)
    {
        if (!_stopSeen)
        {
            _stopSeen = true;
            _stopTick = now;
            ReleaseListener();
        }

        // Read before taking the queue: once the accepting thread has let go of the listener it
        // adopts no more, so a queue taken after seeing that is the last one.
        bool noMoreIncoming = _source.IsListenerReleased;
        TakeIncoming(now);
        bool pastDeadline = now >= _source.StopDeadline;
        for (int i = 0; i < _table.Count; i++)
        {
            if (_table[i] is not { } connection)
            {
                continue;
            }

            if (pastDeadline && !connection.Ingest.IsPaused)
            {
                // Past the deadline an ended connection waits no longer for the horizon: its client
                // sees the close without its last ack and resends (at-least-once).
                Close(connection);
            }
            else if (connection.Registered && now - Math.Max(connection.LastActivity, _stopTick) >= QuietMillis)
            {
                End(connection);
            }
        }

        return noMoreIncoming && _open == 0;
    }

    private void CloseBadFrame(StreamConnection connection, FrameError error)
    {
        _source.Metrics.AddClosed(CloseReason.BadFrame);
        Log.Warning($"source '{_source.Name}': closed a connection: bad binary frame ({error.Label()})");
        End(connection);
    }

    /// <summary>Nothing more is read from <paramref name="connection"/>: it closes once what it
    /// published is durable and its last ack is written (the half-close acknowledgement, SPEC §7).</summary>
    private void End(StreamConnection connection)
    {
        using Lock.Scope ackState = _ackLock.EnterScope();
        if (connection.Registered)
        {
            // Level-triggered: an ended stream stays readable (EOF) and would wake every turn.
            Libc.EpollControl(_epoll, Libc.EpollCtlDel, connection.Fd, 0, 0);
            connection.Registered = false;
        }

        connection.Ended = true;
        if (!connection.Settling)
        {
            StartSettling(connection);
        }
    }

    private void StartSettling(StreamConnection connection)
    {
        using Lock.Scope ackState = _ackLock.EnterScope();
        connection.Settling = true;
        _settling.Add(connection);
    }

    /// <summary>One pass over the settling connections against the horizon read once: acks that
    /// became due are written, ended connections that are settled are closed.</summary>
    private void Settle()
    {
        long horizon = _horizon.DurableRingSequence;
        _ackHeldBack = false;
        int kept = 0;
        int count = _settling.Count;
        for (int i = 0; i < count; i++)
        {
            StreamConnection connection = _settling[i];
            SettleResult result = SettleOne(connection, horizon, out bool heldBack);
            _ackHeldBack |= heldBack;
            if (result == SettleResult.Waiting)
            {
                _settling[kept++] = connection;
                continue;
            }

            connection.Settling = false;
            if (result == SettleResult.PeerGone || connection.Ended)
            {
                Close(connection);
            }
        }

        _settling.RemoveRange(kept, count - kept);
    }

    /// <summary>
    /// The horizon's thread's pass, with <see cref="_ackLock"/> held: writes the acks of live acked
    /// connections that became due, from their points alone (the totals each turn's end recorded;
    /// frames read since wait for their turn's end). Leaves the list as it is (a settled connection
    /// leaves it at the loop's next settle) and returns true when the loop has work only it may do:
    /// closing an ended connection or one whose peer is gone, polling for an ack held back, or more
    /// connections than a horizon's thread should write to before its next sync.
    /// </summary>
    private bool AckFromHorizon()
    {
        int count = _settling.Count;
        if (count > MaxAcksFromHorizon)
        {
            return true;
        }

        long horizon = _horizon.DurableRingSequence;
        bool loopNeeded = false;
        for (int i = 0; i < count; i++)
        {
            StreamConnection connection = _settling[i];
            if (connection.Ended || !connection.Ingest.AckRequested)
            {
                // A close waits for the horizon: only the loop closes.
                loopNeeded = true;
                continue;
            }

            TakeDurablePoints(connection, horizon);
            if (!WriteAcks(connection))
            {
                loopNeeded = true;
                continue;
            }

            loopNeeded |= connection.AckWritten != AckFrameWriter.FrameBytes
                || connection.SentAccepted != connection.DueAccepted || connection.SentRejected != connection.DueRejected;
        }

        return loopNeeded;
    }

    private SettleResult SettleOne(StreamConnection connection, long horizon, out bool heldBack)
    {
        heldBack = false;
        StreamIngest ingest = connection.Ingest;
        if (ingest.IsPaused)
        {
            // Its totals count rejections ahead of events the ring has not taken yet: wait for the resume.
            return SettleResult.Waiting;
        }

        bool allDurable = ingest.LastSequence <= horizon;
        if (!ingest.AckRequested)
        {
            return allDurable ? SettleResult.Settled : SettleResult.Waiting;
        }

        if (allDurable)
        {
            connection.PointCount = 0;
            connection.DueAccepted = ingest.Accepted;
            connection.DueRejected = ingest.Rejected;
        }
        else
        {
            TakeDurablePoints(connection, horizon);
            AddPoint(connection, ingest);
        }

        if (!WriteAcks(connection))
        {
            return SettleResult.PeerGone;
        }

        bool written = connection.AckWritten == AckFrameWriter.FrameBytes
            && connection.SentAccepted == connection.DueAccepted && connection.SentRejected == connection.DueRejected;
        heldBack = !written;
        return allDurable && written ? SettleResult.Settled : SettleResult.Waiting;
    }

    /// <summary>Makes the newest point the horizon has passed due, and forgets it and those before it.</summary>
    private static void TakeDurablePoints(StreamConnection connection, long horizon)
    {
        AckPoint[] points = connection.Points;
        int head = connection.PointHead;
        int count = connection.PointCount;
        while (count > 0 && points[head].Sequence <= horizon)
        {
            connection.DueAccepted = points[head].Accepted;
            connection.DueRejected = points[head].Rejected;
            head = (head + 1) & (StreamConnection.MaxPoints - 1);
            count--;
        }

        connection.PointHead = head;
        connection.PointCount = count;
    }

    /// <summary>Records the ingest's totals as the newest point, unless the newest already holds them.
    /// Rejections publish nothing: totals that moved without a new sequence update the newest point
    /// in place. Full, the newest point takes them (they wait for its sequence's successor).</summary>
    private static void AddPoint(StreamConnection connection, StreamIngest ingest)
    {
        AckPoint[] points = connection.Points;
        int count = connection.PointCount;
        if (count > 0)
        {
            ref AckPoint newest = ref points[(connection.PointHead + count - 1) & (StreamConnection.MaxPoints - 1)];
            if (newest.Accepted == ingest.Accepted && newest.Rejected == ingest.Rejected)
            {
                return;
            }

            if (newest.Sequence == ingest.LastSequence || count == StreamConnection.MaxPoints)
            {
                newest = new AckPoint { Sequence = ingest.LastSequence, Accepted = ingest.Accepted, Rejected = ingest.Rejected };
                return;
            }
        }

        points[(connection.PointHead + count) & (StreamConnection.MaxPoints - 1)] =
            new AckPoint { Sequence = ingest.LastSequence, Accepted = ingest.Accepted, Rejected = ingest.Rejected };
        connection.PointCount = count + 1;
    }

    /// <summary>Writes the ack in flight, then one with the due totals if they are newer, without
    /// blocking: a client that does not read its acks leaves one frame pending here, replaced by
    /// newer totals once it drains. False when the peer is gone.</summary>
    private bool WriteAcks(StreamConnection connection)
    {
        while (true)
        {
            if (connection.AckWritten == AckFrameWriter.FrameBytes)
            {
                if (connection.SentAccepted == connection.DueAccepted && connection.SentRejected == connection.DueRejected)
                {
                    return true;
                }

                AckFrameWriter.Write(connection.AckFrame, connection.DueAccepted, connection.DueRejected);
                connection.SentAccepted = connection.DueAccepted;
                connection.SentRejected = connection.DueRejected;
                connection.AckWritten = 0;
            }

            if (!connection.NoDelay)
            {
                // Once per connection; fails harmlessly on a Unix socket, which has no Nagle.
                connection.NoDelay = true;
                int on = 1;
                Libc.setsockopt(connection.Fd, Libc.IpProtoTcp, Libc.TcpNoDelay, &on, sizeof(int));
            }

            nint n;
            fixed (byte* frame = connection.AckFrame)
            {
                n = Libc.send(connection.Fd, frame + connection.AckWritten, (nuint)(AckFrameWriter.FrameBytes - connection.AckWritten),
                    Libc.MsgDontWait | Libc.MsgNoSignal);
            }

            if (n > 0)
            {
                connection.AckWritten += (int)n;
                if (connection.AckWritten == AckFrameWriter.FrameBytes)
                {
                    _source.Metrics.AddAckSent();
                }

                continue;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EIntr)
            {
                continue;
            }

            return errno == Libc.EAgain;
        }
    }

    private void Close(StreamConnection connection)
    {
        // The descriptor is closed under the lock: a horizon's thread never writes an ack to a
        // number that may already belong to another connection.
        using Lock.Scope ackState = _ackLock.EnterScope();
        if (connection.Settling)
        {
            // Idle timeout or a reset peer while acks were waiting: rare, so a search is fine.
            _settling.Remove(connection);
            connection.Settling = false;
        }

        if (connection.Ingest.IsPaused)
        {
            // Only when the thread ends with a connection still paused (its loop failed).
            IngestBuffers? held = connection.Ingest.Abandon();
            if (held is not null)
            {
                _source.ReturnBuffers(held);
            }
        }

        // Closing the descriptor also removes it from the epoll set (it has no duplicates).
        Libc.close(connection.Fd);
        _table[connection.Index] = null;
        _freeIndexes.Push(connection.Index);
        _open--;
        connection.Registered = false;
        _source.Closed(connection);
    }

    private void AcceptPending(long now)
    {
        // Once per wake, not per connection: the limit can be changed on a running process (prlimit).
        _source.ReadFdLimit();
        while (_listening)
        {
            int fd = Libc.accept4(_listenFd, null, null, Libc.SockNonBlock | Libc.SockCloseOnExec);
            if (fd >= 0)
            {
                if (fd >= _source.FdCeiling)
                {
                    // Near the descriptor limit: keep the rest for the control socket, sinks and
                    // stats. Close what waits in the backlog too (bounded by it), so those clients
                    // see a close now rather than one per rest.
                    _source.Metrics.AddDropped(DropReason.FdLimit);
                    Libc.close(fd);
                    RefuseBacklog();
                    FdLimitReached(now);
                    return;
                }

                _fdLimitLogged = false;
                _source.Admit(fd, now);
                continue;
            }

            int errno = Marshal.GetLastPInvokeError();
            switch (errno)
            {
                case Libc.EAgain:
                    return;
                case Libc.EIntr:
                case Libc.EConnAborted:
                    continue;
                case Libc.EMFile:
                case Libc.ENFile:
                case Libc.ENoBufs:
                case Libc.ENoMem:
                    // Out of descriptors: spend the reserve to accept and close the pending
                    // connection, so its client sees a close instead of hanging in the backlog.
                    _source.RefuseWithReserve(_listenFd);
                    FdLimitReached(now);
                    return;
                default:
                    return;
            }
        }
    }

    private void RefuseBacklog()
    {
        while (true)
        {
            int fd = Libc.accept4(_listenFd, null, null, Libc.SockNonBlock | Libc.SockCloseOnExec);
            if (fd < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno is Libc.EIntr or Libc.EConnAborted)
                {
                    continue;
                }

                return;
            }

            _source.Metrics.AddDropped(DropReason.FdLimit);
            Libc.close(fd);
        }
    }

    /// <summary>Logs the episode once and rests accepting; the refusals were counted where they happened.</summary>
    private void FdLimitReached(long now)
    {
        if (!_fdLimitLogged)
        {
            _fdLimitLogged = true;
            Log.Warning($"source '{_source.Name}': at the open-file limit ({_source.FdLimit}): refusing new connections (events_dropped_total{{reason=\"fd_limit\"}}); raise LimitNOFILE or lower max_connections");
        }

        Libc.EpollControl(_epoll, Libc.EpollCtlDel, _listenFd, 0, 0);
        _listening = false;
        _acceptRestUntil = now + FdLimitBackoffMillis;
    }

    private void ArmListener()
    {
        _listening = Libc.EpollControl(_epoll, Libc.EpollCtlAdd, _listenFd, Libc.EpollIn, ListenToken) == 0;
    }

    private void ReleaseListener()
    {
        if (_listenFd < 0)
        {
            return;
        }

        if (_listening)
        {
            Libc.EpollControl(_epoll, Libc.EpollCtlDel, _listenFd, 0, 0);
            _listening = false;
        }

        _listenFd = -1;
        _source.ListenerReleased();
    }

    private void CloseDescriptors()
    {
        if (_wake >= 0)
        {
            Libc.close(_wake);
            _wake = -1;
        }

        if (_epoll >= 0)
        {
            Libc.close(_epoll);
            _epoll = -1;
        }
    }

    private enum SettleResult
    {
        /// <summary>Still waiting for the horizon, or for the client to take its ack.</summary>
        Waiting,

        /// <summary>Durable and acked: leaves the list (and closes, if it ended).</summary>
        Settled,

        /// <summary>Writing the ack failed for good (reset, EPIPE): closes.</summary>
        PeerGone,
    }
}
