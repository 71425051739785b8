namespace EventDaemon.Daemon.Sinks.Transports;

/// <summary>Counts batches and bytes and writes nothing: the sink for benchmarks.</summary>
public readonly struct BlackholeTransport : ISinkTransport
{
    private readonly Counters _counters;

    public BlackholeTransport()
    {
        _counters = new Counters();
    }

    /// <remarks>Written by the sink's thread only; read from any.</remarks>
    public long Bytes => Volatile.Read(ref _counters.Bytes);

    public long Batches => Volatile.Read(ref _counters.Batches);

    public bool IsReady => true;

    /// <summary>Writes never wait.</summary>
    public bool IsBlocked => false;

    public long BlockedSince => 0;

    /// <summary>Nothing to reconnect: never resends.</summary>
    public long ResentEvents => 0;

    public string Describe() => "blackhole";

    public void Open()
    {
    }

    public bool TryWrite(ReadOnlySpan<byte> batch, out string? error)
    {
        Counters c = _counters;
        Volatile.Write(ref c.Bytes, c.Bytes + batch.Length);
        Volatile.Write(ref c.Batches, c.Batches + 1);
        error = null;
        return true;
    }

    /// <summary>A refused batch left nothing behind here.</summary>
    public void GiveUp()
    {
    }

    public void Tick(long nowTimestamp)
    {
    }

    public void Close()
    {
    }

    private sealed class Counters
    {
        public long Bytes;
        public long Batches;
    }
}
