using System.Net;
using System.Net.Sockets;
using System.Text;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Metrics;
using EventDaemon.Daemon.Sources;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Ingest;
using EventDaemon.Ring;
using EventDaemon.Tests.Shared;
using Xunit;

namespace EventDaemon.Daemon.Tests.Sources;

/// <summary>
/// The I/O thread's read path (recv on a raw descriptor into the thread's buffer, framing, staging,
/// one turn at the ring) allocates nothing per read, and a connection paused by a full ring is not
/// read until the ring has room, then loses nothing.
/// </summary>
[Collection(AllocationMeasurements.Name)]
public sealed class IoThreadReadPathTests
{
    private const int LinesPerRound = 200;

    [Fact]
    public void ReadingAConnection_AllocatesNothingPerRead()
    {
        // No consumer gates the ring: it never fills, so every read goes straight through.
        using var ring = new EventRing(slots: 1 << 14, arenaBytes: 1 << 22, lockMemory: false, notifyOnPublish: false);
        (StreamSource source, SourceMetrics metrics) = Source(ring);
        var io = new IoThread(source, 0, -1);
        (Socket client, Socket server) = ConnectedPair();
        using (client)
        using (server)
        {
            StreamConnection connection = io.AdoptForTest((int)server.SafeHandle.DangerousGetHandle());
            byte[] round = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, LinesPerRound).Select(i => $"{{\"type\":\"t\",\"key\":\"k{i % 7}\",\"value\":{i}}}\n")));

            long readAllocations = 0;
            void Round()
            {
                long target = metrics.Received + LinesPerRound;
                client.Send(round);
                DateTime deadline = DateTime.UtcNow.AddSeconds(10);
                while (metrics.Received < target)
                {
                    if (DateTime.UtcNow >= deadline)
                    {
                        // Formatted only on failure: the loop spins, and the no-GC region has a budget.
                        Assert.Fail($"a round of {LinesPerRound} lines was not read within 10 s ({metrics.Received} of {target})");
                    }

                    long before = GC.GetAllocatedBytesForCurrentThread();
                    io.ReadForTest(connection);
                    readAllocations += GC.GetAllocatedBytesForCurrentThread() - before;
                }
            }

            for (int i = 0; i < 50; i++)
            {
                Round();
            }

            readAllocations = 0;
            using (var watch = CollectionWatch.Start())
            {
                for (int i = 0; i < 2000; i++)
                {
                    Round();
                }

                Assert.True(watch.Collections == 0, $"collections ran while reading: {watch.Describe()}");
            }

            Assert.True(readAllocations == 0, $"the read path allocated {readAllocations} bytes over 2,000 rounds of {LinesPerRound} events");
        }
    }

    [Fact]
    public void APausedConnection_IsNotReadUntilTheRingHasRoom_ThenLosesNothing()
    {
        using var ring = new EventRing(slots: 64, arenaBytes: 1 << 16, lockMemory: false, notifyOnPublish: false);
        var consumer = new Sequence();
        ring.Sequencer.SetGatingSequences([consumer]);
        (StreamSource source, SourceMetrics metrics) = Source(ring);
        var io = new IoThread(source, 0, -1);
        (Socket client, Socket server) = ConnectedPair();
        using (client)
        using (server)
        {
            StreamConnection connection = io.AdoptForTest((int)server.SafeHandle.DangerousGetHandle());
            client.Send(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 100).Select(i => $"{{\"value\":{i}}}\n"))));
            DateTime deadline = DateTime.UtcNow.AddSeconds(10);
            while (io.PausedForTest == 0)
            {
                Assert.True(DateTime.UtcNow < deadline, $"100 events into a ring of 64 did not pause the connection ({metrics.Received} received)");
                io.ReadForTest(connection);
            }

            Assert.False(connection.Registered, "a paused connection is still watched for reads: the sender would not be pushed back");
            Assert.True(metrics.Received == 64, $"the ring of 64 took {metrics.Received} events");

            consumer.SetValue(ring.Sequencer.Cursor.Value);
            io.ResumeForTest();
            Assert.True(io.PausedForTest == 0, "the connection stayed paused after the ring was emptied");
            Assert.True(connection.Registered, "a resumed connection is not watched for reads again");
            deadline = DateTime.UtcNow.AddSeconds(10);
            while (metrics.Received < 100)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{metrics.Received} of 100 events reached the ring after the resume");
                io.ReadForTest(connection);
            }

            Assert.True(metrics.Received == 100, $"{metrics.Received} events reached the ring, 100 were sent");
        }
    }

    private static (StreamSource Source, SourceMetrics Metrics) Source(EventRing ring)
    {
        var metrics = new SourceMetrics("in", 1);
        var config = new TcpSourceConfig("in", default, SourceFormat.Json, 1024, new HostPort("127.0.0.1", 0), new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0), 16);
        return (new StreamSource(config, metrics, ring, new BadInputLog(), 1024, ioThreads: 1), metrics);
    }

    /// <summary>A TCP connection over loopback; the server end non-blocking, as accept4 gives it.</summary>
    private static (Socket Client, Socket Server) ConnectedPair()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        Socket server = listener.Accept();
        server.Blocking = false;
        return (client, server);
    }
}
