using System.Net;
using System.Net.Sockets;
using EventDaemon.Daemon.Sinks.Transports;
using Xunit;

namespace EventDaemon.Daemon.Tests.Sinks;

public sealed class TcpTransportContractTests : SinkTransportContractTests<TcpTransport>
{
    private readonly TestTcpPeer _peer = new();
    private TcpTransport? _transport;

    protected override TcpTransport Create() => (_transport = new TcpTransport("127.0.0.1", _peer.Port)).Value;

    protected override void AssertDelivered(TcpTransport transport, byte[] expected)
    {
        byte[] actual = _peer.Connection(0, Deadline).WaitFor(expected.Length, Deadline);
        Assert.True(expected.AsSpan().SequenceEqual(actual), $"the peer did not receive exactly the batches sent: {Batches.FirstDifference(expected, actual)}");
        Assert.True(_peer.ConnectionCount == 1, $"the batches went over {_peer.ConnectionCount} connections instead of one");
    }

    public override void Dispose()
    {
        _transport?.Close();
        _peer.Dispose();
        base.Dispose();
    }
}

public sealed class TcpTransportTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly List<IDisposable> _cleanup = [];

    public void Dispose()
    {
        foreach (IDisposable item in _cleanup)
        {
            item.Dispose();
        }
    }

    [Fact]
    public void Connection_HasNoDelaySet()
    {
        var peer = Track(new TestTcpPeer());
        var transport = new TcpTransport("127.0.0.1", peer.Port);
        transport.Open();
        Assert.False(transport.IsConnected, "Open connected; connections are made lazily, at the first write");
        Assert.True(transport.TryWrite(Batches.Make(1, 10), out string? error), $"first write failed: {error}");
        Socket? socket = transport.SocketForTests;
        Assert.True(socket is not null && socket.NoDelay, "TCP_NODELAY is not set on the connection");
        Assert.Equal($"tcp 127.0.0.1:{peer.Port}", transport.Describe());
        transport.Close();
    }

    /// <summary>What waits in the kernel for a slow peer is bounded by the configured buffer, not autotuned up to tcp_wmem's maximum.</summary>
    [Fact]
    public void Connection_HasItsSendBufferSetExplicitly()
    {
        const int Requested = 64 * 1024;
        var peer = Track(new TestTcpPeer());
        var transport = new TcpTransport("127.0.0.1", peer.Port, sendBufferBytes: Requested);
        Assert.True(transport.TryWrite(Batches.Make(1, 10), out string? error), $"first write failed: {error}");
        int granted = transport.SocketForTests!.SendBufferSize;
        // Linux reports twice the request: the doubling is its bookkeeping, not more room for data.
        Assert.True(granted >= Requested && granted <= 2 * Requested, $"SO_SNDBUF is {granted} bytes after asking for {Requested}");
        transport.Close();
    }

    [Fact]
    public void Close_DeliversWhatWasSent_ThenEndsTheConnection()
    {
        var peer = Track(new TestTcpPeer());
        var transport = new TcpTransport("127.0.0.1", peer.Port);
        transport.Open();
        byte[] batch = Batches.Make(1, 200_000);
        Assert.True(transport.TryWrite(batch, out string? error), $"write failed: {error}");
        transport.Close();
        Received received = peer.Connection(0, Deadline);
        byte[] actual = received.WaitFor(long.MaxValue, Deadline);
        Assert.True(received.Ended, "the peer did not see the connection end after Close");
        Assert.True(batch.AsSpan().SequenceEqual(actual), $"bytes lost on Close: {Batches.FirstDifference(batch, actual)}");
    }

    [Fact]
    public void PeerGone_TryWriteReturnsFalseWithAReason()
    {
        var peer = Track(new TestTcpPeer());
        var transport = new TcpTransport("127.0.0.1", peer.Port);
        transport.Open();
        Assert.True(transport.TryWrite(Batches.Make(1, 100), out string? error), $"first write failed: {error}");
        peer.Connection(0, Deadline).WaitFor(100, Deadline);
        peer.Stop();

        string? reason = null;
        Assert.True(Wait.Until(() => !transport.TryWrite(Batches.Make(2, 100), out reason), Deadline),
            "TryWrite kept succeeding after the peer closed the connection and stopped listening");
        Assert.True(reason is not null && reason.StartsWith($"tcp 127.0.0.1:{peer.Port}: ", StringComparison.Ordinal),
            $"the reason does not name the destination: {reason}");
        Assert.True(reason.Contains("closed", StringComparison.Ordinal) || reason.Contains("failed", StringComparison.Ordinal) || reason.Contains("reconnecting", StringComparison.Ordinal),
            $"the reason does not say what happened: {reason}");
        Assert.False(transport.IsConnected, "still connected after a failed write");
        transport.Close();
    }

    /// <summary>
    /// The peer goes away and comes back on the same port. Batches that TryWrite refused are what
    /// the caller retries; every one of them, and everything after, must arrive on the new
    /// connection exactly once and in order. (A batch accepted by the kernel on the dead connection
    /// before the FIN arrived is TCP's to lose; the test makes none, by letting Tick notice first.)
    /// </summary>
    [Fact]
    public void PeerRestartsOnTheSamePort_RetriedBatchesAndLaterOnesArriveInOrder()
    {
        var clock = new ManualClock();
        var first = new TestTcpPeer();
        int port = first.Port;
        var transport = new TcpTransport("127.0.0.1", port, maxBackoff: TimeSpan.FromSeconds(1), time: clock);
        transport.Open();
        byte[] before = Batches.Make(0, 1000);
        Assert.True(transport.TryWrite(before, out string? error), $"write before the restart failed: {error}");
        Assert.True(before.AsSpan().SequenceEqual(first.Connection(0, Deadline).WaitFor(before.Length, Deadline)), "first connection did not get its batch");

        first.Stop();
        Assert.True(Wait.Until(() => { transport.Tick(clock.GetTimestamp()); return !transport.IsConnected; }, Deadline),
            "Tick did not notice that the peer closed the connection");

        // While the peer is away, the caller keeps offering the same batch; nothing gets through.
        byte[] retried = Batches.Make(1, 2000);
        for (int attempt = 0; attempt < 3; attempt++)
        {
            Assert.False(transport.TryWrite(retried, out error), "a write succeeded with no peer listening");
            Assert.True(error is not null, "a failed write gave no reason");
            clock.Advance(transport.CurrentBackoff);
        }

        using var second = new TestTcpPeer(port);
        clock.Advance(transport.CurrentBackoff);
        Assert.True(transport.TryWrite(retried, out error), $"the retried batch failed after the peer came back: {error}");
        var later = Enumerable.Range(2, 20).Select(i => Batches.Make(i, 500)).ToList();
        foreach (byte[] batch in later)
        {
            Assert.True(transport.TryWrite(batch, out error), $"write after reconnecting failed: {error}");
        }

        byte[] expected = [.. retried, .. Batches.Concat(later)];
        byte[] actual = second.Connection(0, Deadline).WaitFor(expected.Length, Deadline);
        Assert.True(expected.AsSpan().SequenceEqual(actual), $"after reconnecting the peer did not get the retried batch and the later ones exactly: {Batches.FirstDifference(expected, actual)}");
        Assert.True(transport.CurrentBackoff == TimeSpan.Zero, $"backoff not reset after a successful send: {transport.CurrentBackoff}");
        Assert.Null(transport.LastError);
        transport.Close();
    }

    /// <summary>
    /// A peer that is alive but reads nothing is backpressure: the write blocks (no error, no
    /// reconnect, nothing sent twice) for as long as the peer takes, and resumes where it stopped.
    /// </summary>
    [Fact]
    public void PeerStopsReading_WriteBlocksWithoutErrorOrReconnect_AndResumesWithoutDuplicates()
    {
        var peer = Track(new StalledTcpPeer());
        var transport = new TcpTransport("127.0.0.1", peer.Port);
        transport.Open();

        // Far more than the kernel's buffers on both ends can hold.
        byte[] stalled = Batches.Make(1, 8 * 1024 * 1024);
        for (int attempt = 0; attempt < 5; attempt++)
        {
            Assert.False(transport.TryWrite(stalled, out string? error), $"attempt {attempt}: a batch larger than every buffer was written to a peer that reads nothing");
            Assert.True(transport.IsBlocked, $"attempt {attempt}: the write to a live peer that reads nothing was not reported as blocked: {error}");
            Assert.True(error is null, $"attempt {attempt}: a blocked write gave a reason, as if it had failed: {error}");
            Assert.True(transport.BlockedSince != 0, $"attempt {attempt}: blocked, but BlockedSince is not set");
        }

        int written = transport.BatchBytesWrittenForTests;
        Assert.True(written > 0 && written < stalled.Length, $"{written} bytes of {stalled.Length} handed to the connection while the peer read nothing");
        Assert.True(transport.IsConnected && transport.ConnectAttempts == 1 && peer.ConnectionCount == 1,
            $"the connection to a slow peer was replaced: connected {transport.IsConnected}, {transport.ConnectAttempts} attempts, {peer.ConnectionCount} connections accepted");
        Assert.Null(transport.LastError);

        peer.StartReading();
        string? reason = null;
        Assert.True(Wait.Until(() => transport.TryWrite(stalled, out reason) || !transport.IsBlocked, Deadline) && reason is null,
            $"the blocked batch did not complete once the peer read: {reason}");
        Assert.False(transport.IsBlocked, "still blocked after the batch was written");
        Assert.True(transport.BlockedSince == 0, "BlockedSince not cleared after the batch was written");
        byte[] next = Batches.Make(2, 1000);
        Assert.True(transport.TryWrite(next, out reason), $"the batch after the stall failed: {reason}");

        byte[] expected = [.. stalled, .. next];
        byte[] actual = peer.Connection(0, Deadline).WaitFor(expected.Length, Deadline);
        Assert.True(expected.AsSpan().SequenceEqual(actual), $"the peer did not get each byte exactly once and in order: {Batches.FirstDifference(expected, actual)}");
        Assert.True(peer.ConnectionCount == 1, $"{peer.ConnectionCount} connections: the stall made the transport reconnect");
        Assert.True(transport.ResentEvents == 0, $"{transport.ResentEvents} events counted as re-sent without any reconnect");
        transport.Close();
    }

    /// <summary>
    /// A peer that resets the connection in the middle of a batch is a real failure: one
    /// reconnect, the batch sent again from its start on the new connection, and the events of it
    /// that the old connection had begun to take counted as re-sent.
    /// </summary>
    [Fact]
    public void PeerResetsMidBatch_OneReconnect_BatchResentFromItsStart_AndCounted()
    {
        var clock = new ManualClock();
        var peer = Track(new StalledTcpPeer());
        var transport = new TcpTransport("127.0.0.1", peer.Port, time: clock);
        transport.Open();
        byte[] first = Batches.Make(1, 2000);
        Assert.True(transport.TryWrite(first, out string? error), $"the first batch failed: {error}");

        byte[] batch = Batches.Make(2, 8 * 1024 * 1024);
        Assert.False(transport.TryWrite(batch, out error), "a batch larger than every buffer was written to a peer that reads nothing");
        Assert.True(transport.IsBlocked, $"not blocked on a peer that reads nothing: {error}");
        int written = transport.BatchBytesWrittenForTests;
        Assert.True(written > 0, "nothing of the batch was handed to the connection before the reset");
        ReadOnlySpan<byte> begun = batch.AsSpan(0, written);
        long expectedResent = begun.Count((byte)'\n') + (begun[^1] == (byte)'\n' ? 0 : 1);

        peer.StartReading();
        peer.Reset(0);
        Assert.True(Wait.Until(() => !transport.TryWrite(batch, out error) && !transport.IsBlocked, Deadline),
            "the transport did not report the reset connection as a failure");
        Assert.True(error is not null && error.StartsWith($"tcp 127.0.0.1:{peer.Port}: ", StringComparison.Ordinal), $"the failure does not name the destination: {error}");
        Assert.False(transport.IsConnected, "still connected after the peer reset the connection");

        clock.Advance(transport.CurrentBackoff);
        Assert.True(Wait.Until(() => transport.TryWrite(batch, out error) || !transport.IsBlocked, Deadline) && error is null,
            $"the batch was not written on the new connection: {error}");

        byte[] actual = peer.Connection(1, Deadline).WaitFor(batch.Length, Deadline);
        Assert.True(batch.AsSpan().SequenceEqual(actual), $"the new connection did not get the interrupted batch whole, from its start: {Batches.FirstDifference(batch, actual)}");
        Assert.True(peer.ConnectionCount == 2 && transport.ConnectAttempts == 2,
            $"expected exactly one reconnect: {peer.ConnectionCount} connections accepted, {transport.ConnectAttempts} attempts");
        Assert.True(transport.ResentEvents == expectedResent,
            $"{transport.ResentEvents} events counted as re-sent; the old connection had begun {expectedResent} of the batch's events ({written} bytes)");
        transport.Close();
    }

    [Fact]
    public void Backoff_StartsAt100ms_Doubles_AndIsCappedAtTheMaximum()
    {
        var clock = new ManualClock();
        int port = ClosedPort();
        var transport = new TcpTransport("127.0.0.1", port, maxBackoff: TimeSpan.FromMilliseconds(1000), time: clock);
        transport.Open();
        byte[] batch = Batches.Make(1, 100);
        var seen = new List<double>();
        for (int attempt = 1; attempt <= 7; attempt++)
        {
            Assert.False(transport.TryWrite(batch, out string? error), "a write to a closed port succeeded");
            Assert.True(transport.ConnectAttempts == attempt, $"attempt {attempt}: {transport.ConnectAttempts} connection attempts made");
            Assert.True(error is not null && error.Contains("refused", StringComparison.OrdinalIgnoreCase), $"attempt {attempt}: the reason does not say the connection was refused: {error}");
            TimeSpan backoff = transport.CurrentBackoff;
            seen.Add(backoff.TotalMilliseconds);

            // Before the backoff elapses, TryWrite answers at once without trying to connect.
            clock.Advance(backoff - TimeSpan.FromMilliseconds(1));
            Assert.False(transport.TryWrite(batch, out error), "a write succeeded while backing off");
            Assert.True(transport.ConnectAttempts == attempt, $"a connection was attempted {backoff.TotalMilliseconds - 1} ms into a {backoff.TotalMilliseconds} ms backoff");
            Assert.True(error is not null && error.EndsWith("reconnecting in 1 ms", StringComparison.Ordinal), $"while backing off the reason should say when the next attempt is: {error}");
            clock.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.True(seen.SequenceEqual([100.0, 200, 400, 800, 1000, 1000, 1000]),
            $"backoff after each failed attempt: {string.Join(", ", seen)} ms; expected 100, 200, 400, 800, 1000, 1000, 1000");
        transport.Close();
    }

    [Fact]
    public void Tick_WhileDisconnected_ReconnectsOnceTheBackoffElapsed()
    {
        var clock = new ManualClock();
        int port = ClosedPort();
        var transport = new TcpTransport("127.0.0.1", port, time: clock);
        transport.Open();
        transport.Tick(clock.GetTimestamp());
        Assert.True(transport.ConnectAttempts == 0, "Tick connected before any write: connections are lazy");

        Assert.False(transport.TryWrite(Batches.Make(1, 10), out _), "a write to a closed port succeeded");
        using var peer = new TestTcpPeer(port);
        transport.Tick(clock.GetTimestamp());
        Assert.False(transport.IsConnected, "Tick reconnected before the backoff elapsed");
        clock.Advance(transport.CurrentBackoff);
        transport.Tick(clock.GetTimestamp());
        Assert.True(transport.IsConnected, $"Tick did not reconnect once the backoff elapsed: {transport.LastError}");
        byte[] batch = Batches.Make(2, 300);
        Assert.True(transport.TryWrite(batch, out string? error), $"write on the connection Tick made failed: {error}");
        Assert.True(batch.AsSpan().SequenceEqual(peer.Connection(0, Deadline).WaitFor(batch.Length, Deadline)), "the batch did not arrive");
        transport.Close();
    }

    [Fact]
    public void UnresolvableHost_FailsWithAReason_AndDoesNotThrow()
    {
        var transport = new TcpTransport("no-such-host.invalid", 7400, connectTimeout: TimeSpan.FromSeconds(2));
        transport.Open();
        Assert.False(transport.TryWrite(Batches.Make(1, 10), out string? error), "a write to an unresolvable host succeeded");
        Assert.True(error is not null && error.Contains("no-such-host.invalid", StringComparison.Ordinal), $"the reason does not name the host: {error}");
        transport.Close();
    }

    private T Track<T>(T item)
        where T : IDisposable
    {
        _cleanup.Add(item);
        return item;
    }

    /// <summary>A loopback port nothing listens on: connecting to it is refused at once.</summary>
    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
