namespace EventDaemon.Daemon.Sources;

/// <summary>Lets a test drive the read path on its own thread, without starting the loop, so that
/// what one read allocates is measured where it happens.</summary>
internal sealed partial class IoThread
{
    /// <summary>Registers a connected, non-blocking descriptor as if it had been accepted.</summary>
    internal StreamConnection AdoptForTest(int fd)
    {
        StreamConnection connection = _source.RentConnection();
        connection.Fd = fd;
        Register(connection, Environment.TickCount64);
        return connection;
    }

    /// <summary>One readiness report for <paramref name="connection"/>: reads what the kernel holds into the ring.</summary>
    internal void ReadForTest(StreamConnection connection) => ReadReady(connection, Environment.TickCount64);

    /// <summary>One pass over paused connections, as the loop makes after each wait.</summary>
    internal void ResumeForTest() => ResumePaused(Environment.TickCount64);

    /// <summary>Connections waiting for room in the ring.</summary>
    internal int PausedForTest => _paused.Count;

    /// <summary>One pass over connections waiting on the durable horizon, as the loop makes after each wait.</summary>
    internal void SettleForTest() => Settle();

    /// <summary>Connections waiting on the durable horizon or on their ack's write.</summary>
    internal int SettlingForTest => _settling.Count;

    /// <summary>True when the running loop has ended its turn with acks waiting on the horizon and
    /// let go of the acknowledgement state: it sleeps (or is about to) in <c>epoll_wait</c>, so a
    /// horizon that moves now writes the acks on its own thread.</summary>
    internal bool SleepsAwaitingHorizonForTest()
    {
        if (!_ackLock.TryEnter())
        {
            return false;
        }

        try
        {
            return Volatile.Read(ref _awaitingHorizon) != 0;
        }
        finally
        {
            _ackLock.Exit();
        }
    }
}
