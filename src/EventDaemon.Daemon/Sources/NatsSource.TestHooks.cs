namespace EventDaemon.Daemon.Sources;

/// <summary>
/// Lets a test drive the source's loop on its own thread, without starting it, so that what the
/// pull, ingest and ack path allocates is measured where it happens.
/// </summary>
public sealed partial class NatsSource
{
    /// <summary>What <see cref="Start"/> does before it starts the thread: the ingest, the ownership, the connection and the consumer.</summary>
    internal bool ConnectForTest()
    {
        _ingest = new StreamIngest(_ring, Metrics, _errors, _config.Format, _maxEventBytes, pauseWhenFull: true);
        ApplyOwnership();
        return TryConnect(out _);
    }

    /// <summary>A handler for <see cref="TurnForTest"/>, made once: the loop makes one for its life.</summary>
    internal Handler HandlerForTest() => new(this);

    /// <summary>One pass of the source's loop (ingest, acks, pulls, one wait on the socket).</summary>
    internal void TurnForTest(ref Handler handler) => Turn(ref handler);

    /// <summary>Closes the connection a test opened.</summary>
    internal void DisconnectForTest() => _connection.Disconnect();
}
