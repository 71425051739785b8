using EventDaemon.Daemon.Sinks.Transports;
using Xunit;

namespace EventDaemon.Daemon.Tests.Sinks;

/// <summary>
/// The stdout transport on a pipe instead of descriptor 1 (<see cref="StdoutTransport.ForDescriptor"/>),
/// the same code path. The pipe's write end is non-blocking and its reader slow, so any batch over
/// 64 KiB comes back from write(2) partially written and then with EAGAIN: the loop that finishes
/// the batch is what these tests exercise. Descriptor 1 itself is not redirected: the test host
/// owns it.
/// </summary>
public sealed class StdoutTransportContractTests : SinkTransportContractTests<StdoutTransport>
{
    private readonly NonBlockingPipe _pipe = new();

    protected override StdoutTransport Create() => StdoutTransport.ForDescriptor(_pipe.WriteFd, "pipe");

    protected override void AssertDelivered(StdoutTransport transport, byte[] expected)
    {
        byte[] actual = _pipe.Received.WaitFor(expected.Length, Deadline);
        Assert.True(expected.AsSpan().SequenceEqual(actual), $"the pipe did not carry exactly the batches written: {Batches.FirstDifference(expected, actual)}");
    }

    public override void Dispose()
    {
        _pipe.Dispose();
        base.Dispose();
    }
}

public sealed class StdoutTransportTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public void BatchMuchLargerThanThePipe_IsWrittenWholeThroughPartialWritesAndEagain()
    {
        using var pipe = new NonBlockingPipe(readChunk: 1024);
        var transport = StdoutTransport.ForDescriptor(pipe.WriteFd, "pipe");
        transport.Open();
        byte[] batch = Batches.Make(1, 4 * 1024 * 1024);
        Assert.True(transport.TryWrite(batch, out string? error), $"a 4 MiB batch through a 64 KiB non-blocking pipe failed: {error}");
        pipe.CloseWriteEnd();
        byte[] actual = pipe.Received.WaitFor(long.MaxValue, Deadline);
        Assert.True(batch.AsSpan().SequenceEqual(actual), $"bytes lost or reordered across partial writes: {Batches.FirstDifference(batch, actual)}");
    }

    [Fact]
    public void ReaderGone_TryWriteReturnsFalseWithTheReason_AndDoesNotThrow()
    {
        using var pipe = new NonBlockingPipe(startReader: false);
        var transport = StdoutTransport.ForDescriptor(pipe.WriteFd, "pipe");
        transport.Open();
        pipe.CloseReadEnd();
        Assert.False(transport.TryWrite(Batches.Make(1, 100), out string? error), "a write to a pipe without a reader succeeded");
        Assert.True(error is not null && error.StartsWith("pipe: write failed: ", StringComparison.Ordinal) && error.Contains("pipe", StringComparison.OrdinalIgnoreCase),
            $"the reason should name the destination and EPIPE: {error}");
    }

    [Fact]
    public void Open_DescriptorNotOpen_ThrowsAClearMessage()
    {
        var transport = StdoutTransport.ForDescriptor(1_000_000, "stdout");
        IOException e = Assert.Throws<IOException>(transport.Open);
        Assert.True(e.Message.Contains("not open", StringComparison.Ordinal), $"unclear message: {e.Message}");
    }

    [Fact]
    public void Default_IsDescriptorOne()
    {
        var transport = new StdoutTransport();
        Assert.Equal("stdout", transport.Describe());
    }
}
