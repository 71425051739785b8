using EventDaemon.Daemon.Sinks.Transports;
using Xunit;

namespace EventDaemon.Daemon.Tests.Sinks;

public sealed class BlackholeTransportContractTests : SinkTransportContractTests<BlackholeTransport>
{
    private long _batchesBefore;

    protected override BlackholeTransport Create() => new();

    /// <summary>Nothing is kept: only the count of bytes can be checked.</summary>
    protected override void AssertDelivered(BlackholeTransport transport, byte[] expected)
    {
        Assert.True(transport.Bytes == expected.Length, $"the blackhole counted {transport.Bytes} bytes; {expected.Length} were written");
        Assert.True(transport.Batches > _batchesBefore, "the blackhole counted no batches");
        _batchesBefore = transport.Batches;
    }
}

public sealed class BlackholeTransportTests
{
    [Fact]
    public void CopiesShareTheirCounters()
    {
        var transport = new BlackholeTransport();
        BlackholeTransport copy = transport;
        Assert.True(copy.TryWrite(new byte[10], out _), "blackhole write failed");
        Assert.True(transport.Bytes == 10 && transport.Batches == 1,
            $"a copy's write was not counted by the original: {transport.Bytes} bytes, {transport.Batches} batches");
        Assert.Equal("blackhole", transport.Describe());
    }
}
