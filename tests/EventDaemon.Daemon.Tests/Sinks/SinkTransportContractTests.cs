using System.Diagnostics;
using EventDaemon.Daemon.Sinks.Transports;
using Xunit;

namespace EventDaemon.Daemon.Tests.Sinks;

/// <summary>
/// What every <see cref="ISinkTransport"/> promises, run against each implementation by a subclass
/// that says how to build one and how to read back what reached its destination.
/// </summary>
/// <remarks>The calls go through the generic parameter, as the sink stage makes them: no boxing, no interface dispatch.</remarks>
public abstract class SinkTransportContractTests<T> : IDisposable
    where T : struct, ISinkTransport
{
    protected static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>A transport to a fresh destination, not yet opened.</summary>
    protected abstract T Create();

    /// <summary>Asserts that exactly <paramref name="expected"/> reached the destination, waiting for it if delivery is asynchronous.</summary>
    protected abstract void AssertDelivered(T transport, byte[] expected);

    public virtual void Dispose()
    {
        GC.SuppressFinalize(this);
    }

    [Fact]
    public void Describe_NamesTheDestination()
    {
        T transport = Create();
        string description = transport.Describe();
        Assert.False(string.IsNullOrWhiteSpace(description), "Describe() returned nothing to show in info and health");
    }

    [Fact]
    public void Batches_ArriveExactlyAndInOrder()
    {
        T transport = Create();
        transport.Open();
        var batches = new List<byte[]>();
        int[] sizes = [1, 37, 4096, 100, 256 * 1024, 65_537, 3, 8192];
        for (int i = 0; i < 40; i++)
        {
            byte[] batch = Batches.Make(i, sizes[i % sizes.Length]);
            Assert.True(WriteThrough(transport, batch, out string? error), $"batch {i} ({batch.Length} bytes) failed: {error}");
            Assert.True(error is null, $"a successful write reported an error: {error}");
            batches.Add(batch);
            transport.Tick(Stopwatch.GetTimestamp());
        }

        AssertDelivered(transport, Batches.Concat(batches));
        transport.Close();
    }

    [Fact]
    public void EmptyBatch_SucceedsAndWritesNothing()
    {
        T transport = Create();
        transport.Open();
        byte[] first = Batches.Make(1, 120);
        Assert.True(WriteThrough(transport, first, out string? error), $"first batch failed: {error}");
        Assert.True(WriteThrough(transport, [], out error), $"an empty batch failed: {error}");
        byte[] second = Batches.Make(2, 80);
        Assert.True(WriteThrough(transport, second, out error), $"batch after the empty one failed: {error}");
        AssertDelivered(transport, [.. first, .. second]);
        transport.Close();
    }

    [Fact]
    public void IdleTicks_DoNotDisturbLaterWrites()
    {
        T transport = Create();
        transport.Open();
        for (int i = 0; i < 20; i++)
        {
            transport.Tick(Stopwatch.GetTimestamp());
        }

        byte[] batch = Batches.Make(3, 500);
        Assert.True(WriteThrough(transport, batch, out string? error), $"write after idle ticks failed: {error}");
        AssertDelivered(transport, batch);
        transport.Close();
    }

    /// <remarks>
    /// The warm-up runs long enough for tiered compilation to settle (its promotions allocate on
    /// the calling thread); then the claim is that a window of 10,000 writes allocates nothing.
    /// A per-write allocation shows in every window, so up to five are tried.
    /// </remarks>
    [Fact]
    public void SteadyStateTryWrite_AllocatesNothing()
    {
        const int Window = 10_000;
        T transport = Create();
        transport.Open();
        byte[] batch = Batches.Make(7, 100);
        long writes = 0;
        int failures = 0;
        var warmUp = Stopwatch.StartNew();
        while (writes < 20_000 || warmUp.ElapsedMilliseconds < 300)
        {
            failures += WriteThrough(transport, batch, out _) ? 0 : 1;
            writes++;
        }

        var windows = new List<long>();
        long timestamp = Stopwatch.GetTimestamp();
        for (int round = 0; round < 5 && (windows.Count == 0 || windows[^1] != 0); round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < Window; i++)
            {
                failures += WriteThrough(transport, batch, out _) ? 0 : 1;
                transport.Tick(timestamp);
            }

            windows.Add(GC.GetAllocatedBytesForCurrentThread() - before);
            writes += Window;
        }

        Assert.True(failures == 0, $"{failures} of {writes} writes failed");
        Assert.True(windows[^1] == 0,
            $"TryWrite allocated in every window of {Window} writes: {string.Join(", ", windows)} bytes ({typeof(T).Name})");
        AssertDelivered(transport, Repeat(batch, writes));
        transport.Close();
    }

    /// <summary>
    /// <see cref="ISinkTransport.TryWrite"/> offered again while the transport reports it
    /// <see cref="ISinkTransport.IsBlocked"/>, as the sink does: a destination that is slower than the
    /// writer (a tcp peer reading on another thread) is backpressure, not a failure.
    /// </summary>
    protected static bool WriteThrough(T transport, ReadOnlySpan<byte> batch, out string? error)
    {
        while (!transport.TryWrite(batch, out error))
        {
            if (!transport.IsBlocked)
            {
                return false;
            }

            if (error is not null)
            {
                // Formatted only on failure: the zero-allocation test writes through this loop.
                Assert.Fail($"a blocked write gave a reason, as if it had failed: {error}");
            }
        }

        return true;
    }

    private static byte[] Repeat(byte[] batch, long times)
    {
        byte[] all = new byte[batch.Length * times];
        for (long i = 0; i < times; i++)
        {
            batch.CopyTo(all, i * batch.Length);
        }

        return all;
    }
}
