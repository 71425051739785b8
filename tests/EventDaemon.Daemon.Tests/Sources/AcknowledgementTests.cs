using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using EventDaemon.Client;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Metrics;
using EventDaemon.Daemon.Sources;
using EventDaemon.Daemon.Tests.Sinks.Interop;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Ingest;
using EventDaemon.Tests.Shared;
using Xunit;

namespace EventDaemon.Daemon.Tests.Sources;

/// <summary>
/// Acknowledgements on stream connections (PROTOCOL.md §3), driven on the test's thread through the
/// I/O thread's hooks (read, then settle, as the loop does each turn) with a horizon the test holds:
/// binary acks carry cumulative totals, accepted and rejected apart, only once durable; a client
/// that does not read them does not stall its connection; a half-closed connection is closed only
/// once what it sent is durable.
/// </summary>
[Collection(AllocationMeasurements.Name)]
public sealed class AcknowledgementTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact]
    public void AnAckedConnection_GetsCumulativeTotals_AcceptedAndRejectedApart()
    {
        using var ring = new EventRing(slots: 1 << 12, arenaBytes: 1 << 20, lockMemory: false, notifyOnPublish: false);
        (StreamSource source, SourceMetrics metrics) = Source(ring, SourceFormat.Binary, horizon: null);
        var io = new IoThread(source, 0, -1);
        (Socket client, Socket server) = ConnectedPair();
        using (client)
        using (server)
        {
            StreamConnection connection = io.AdoptForTest(Fd(server));
            var frames = new MemoryStream();
            for (int i = 0; i < 100; i++)
            {
                frames.Write(Frame(i, ack: true));
                if (i % 20 == 0)
                {
                    frames.Write(NaNFrame());
                }
            }

            client.Send(frames.ToArray());
            ReadUntil(io, connection, () => metrics.Received == 100 && connection.Ingest.Rejected == 5, () => $"{metrics.Received} of 100 frames read, {connection.Ingest.Rejected} of 5 rejected");
            io.SettleForTest();

            AckFrame last = ReadAcksUntil(client, a => a.Settled >= 105);
            Assert.True(last == new AckFrame(100, 5), $"the ack says {last}; 100 frames were accepted and 5 rejected");
            Assert.True(metrics.AcksSent >= 1, "an ack was read by the client but acks_sent_total did not count it");
            Assert.True(io.SettlingForTest == 0, "an acked connection with nothing left to acknowledge still waits on the horizon");
        }
    }

    [Fact]
    public void Acks_AreSentOnlyOnceTheHorizonPassesTheConnectionsEvents()
    {
        using var ring = new EventRing(slots: 1 << 12, arenaBytes: 1 << 20, lockMemory: false, notifyOnPublish: false);
        var horizon = new HeldHorizon();
        (StreamSource source, SourceMetrics metrics) = Source(ring, SourceFormat.Binary, horizon);
        var io = new IoThread(source, 0, -1);
        (Socket client, Socket server) = ConnectedPair();
        using (client)
        using (server)
        {
            StreamConnection connection = io.AdoptForTest(Fd(server));
            client.Send(Frames(0, 10));
            ReadUntil(io, connection, () => metrics.Received == 10, () => $"{metrics.Received} of 10 frames read");
            long tenth = ring.Sequencer.Cursor.Value;
            io.SettleForTest();
            Assert.True(client.Available == 0, $"{client.Available} ack bytes were sent while the horizon was behind every event");

            client.Send(Frames(10, 10));
            ReadUntil(io, connection, () => metrics.Received == 20, () => $"{metrics.Received} of 20 frames read");
            horizon.Value = tenth;
            io.SettleForTest();
            AckFrame first = ReadAcksUntil(client, a => a.Settled >= 10);
            Assert.True(first == new AckFrame(10, 0), $"with the horizon at the 10th event the ack says {first}, not 10 accepted");
            Assert.True(client.Available == 0, "more than the durable frames were acknowledged");

            horizon.Value = ring.Sequencer.Cursor.Value;
            io.SettleForTest();
            AckFrame second = ReadAcksUntil(client, a => a.Settled >= 20);
            Assert.True(second == new AckFrame(20, 0), $"with every event durable the ack says {second}, not 20 accepted");
        }
    }

    [Fact]
    public void EachMoveOfTheHorizon_AcksEveryReadItCovers_NotOnlyTheOldestWaiting()
    {
        using var ring = new EventRing(slots: 1 << 12, arenaBytes: 1 << 20, lockMemory: false, notifyOnPublish: false);
        var horizon = new HeldHorizon();
        (StreamSource source, SourceMetrics metrics) = Source(ring, SourceFormat.Binary, horizon);
        var io = new IoThread(source, 0, -1);
        (Socket client, Socket server) = ConnectedPair();
        using (client)
        using (server)
        {
            StreamConnection connection = io.AdoptForTest(Fd(server));
            long[] lastOfRead = new long[3];
            for (int read = 0; read < 3; read++)
            {
                client.Send(Frames(read * 10, 10));
                int expected = (read + 1) * 10;
                ReadUntil(io, connection, () => metrics.Received == expected, () => $"{metrics.Received} of {expected} frames read");
                lastOfRead[read] = ring.Sequencer.Cursor.Value;
                io.SettleForTest();
            }

            Assert.True(client.Available == 0, $"{client.Available} ack bytes were sent while the horizon was behind every event");

            // One sync covers the first two reads: both are acknowledged by it, not only the first.
            horizon.Value = lastOfRead[1];
            io.SettleForTest();
            AckFrame covered = ReadAcksUntil(client, a => a.Settled >= 20);
            Assert.True(covered == new AckFrame(20, 0), $"with the horizon past the second read the ack says {covered}, not 20 accepted");
            Assert.True(client.Available == 0, "frames of the third read were acknowledged before they were durable");

            horizon.Value = lastOfRead[2];
            io.SettleForTest();
            AckFrame all = ReadAcksUntil(client, a => a.Settled >= 30);
            Assert.True(all == new AckFrame(30, 0), $"with every read durable the ack says {all}, not 30 accepted");
            Assert.True(io.SettlingForTest == 0, "a connection with every frame acknowledged still waits on the horizon");
        }
    }

    [Fact]
    public void AConnectionWithMoreReadsWaitingThanPoints_IsAckedLater_NeverEarly()
    {
        int reads = StreamConnection.MaxPoints + 8;
        using var ring = new EventRing(slots: 1 << 12, arenaBytes: 1 << 20, lockMemory: false, notifyOnPublish: false);
        var horizon = new HeldHorizon();
        (StreamSource source, SourceMetrics metrics) = Source(ring, SourceFormat.Binary, horizon);
        var io = new IoThread(source, 0, -1);
        (Socket client, Socket server) = ConnectedPair();
        using (client)
        using (server)
        {
            StreamConnection connection = io.AdoptForTest(Fd(server));
            long[] lastOfRead = new long[reads];
            for (int read = 0; read < reads; read++)
            {
                client.Send(Frames(read, 1));
                ReadUntil(io, connection, () => metrics.Received == read + 1, () => $"{metrics.Received} of {read + 1} frames read");
                lastOfRead[read] = ring.Sequencer.Cursor.Value;
                io.SettleForTest();
            }

            var reader = new AckReader(client);
            for (int read = 0; read < reads; read++)
            {
                horizon.Value = lastOfRead[read];
                io.SettleForTest();
                if (client.Poll(0, SelectMode.SelectRead))
                {
                    reader.Drain();
                }

                Assert.True(reader.Last.Settled <= read + 1, $"with {read + 1} frames durable the ack says {reader.Last}");
            }

            AckFrame last = ReadAcksUntil(client, a => a.Settled >= reads, reader);
            Assert.True(last == new AckFrame(reads, 0), $"with every frame durable the ack says {last}, not {reads} accepted");
        }
    }

    [Fact]
    public void TheFirstAck_TurnsNagleOff_SoThatNoAckWaitsForTheClientsTcpAcknowledgement()
    {
        using var ring = new EventRing(slots: 1 << 12, arenaBytes: 1 << 20, lockMemory: false, notifyOnPublish: false);
        (StreamSource source, SourceMetrics metrics) = Source(ring, SourceFormat.Binary, horizon: null);
        var io = new IoThread(source, 0, -1);
        (Socket client, Socket server) = ConnectedPair();
        using (client)
        using (server)
        {
            StreamConnection connection = io.AdoptForTest(Fd(server));
            Assert.True(!server.NoDelay, "the accepted socket should start with Nagle on, as accept4 gives it");
            client.Send(Frames(0, 5));
            ReadUntil(io, connection, () => metrics.Received == 5, () => $"{metrics.Received} of 5 frames read");
            io.SettleForTest();
            AckFrame ack = ReadAcksUntil(client, a => a.Settled >= 5);
            Assert.True(ack == new AckFrame(5, 0), $"the ack says {ack}, not 5 accepted");
            Assert.True(server.NoDelay, "the connection's acks are written with Nagle on: a small ack would wait for the TCP acknowledgement of the previous one");
        }
    }

    [Fact]
    public void AnAck_IsSentWhenTheHorizonMoves_WithNoReadTrafficToWakeTheLoop()
    {
        using var ring = new EventRing(slots: 1 << 12, arenaBytes: 1 << 20, lockMemory: false, notifyOnPublish: false);
        var horizon = new HeldHorizon();
        (StreamSource source, SourceMetrics metrics) = Source(ring, SourceFormat.Binary, horizon);
        source.Start();
        try
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            client.Connect(source.LocalEndPoint!);
            client.Send(Frames(0, 10));
            Integration.Support.Eventually.True(() => metrics.Received == 10, () => $"{metrics.Received} of 10 frames read", Deadline);
            Assert.True(!client.Poll(0, SelectMode.SelectRead), "an ack was sent while the horizon was behind every event");

            // The loop now sleeps with nothing to read and no timer: only the horizon's move wakes it.
            horizon.Move(ring.Sequencer.Cursor.Value);
            AckFrame ack = ReadAcksUntil(client, a => a.Settled >= 10);
            Assert.True(ack == new AckFrame(10, 0), $"after the horizon moved past every event the ack says {ack}, not 10 accepted");
        }
        finally
        {
            source.Stop(TimeSpan.FromSeconds(5));
        }
    }

    [Fact]
    public void WhileTheLoopSleeps_TheHorizonsThreadWritesTheAckItself_AndAllocatesNothing()
    {
        const int Rounds = 200;
        const int FramesPerRound = 10;
        using var ring = new EventRing(slots: 1 << 14, arenaBytes: 1 << 22, lockMemory: false, notifyOnPublish: false);
        var horizon = new HeldHorizon();
        (StreamSource source, SourceMetrics metrics) = Source(ring, SourceFormat.Binary, horizon);
        source.Start();
        try
        {
            IoThread io = source.IoThreadForTest(0);
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            client.Connect(source.LocalEndPoint!);
            var reader = new AckReader(client);
            byte[] round = Frames(0, FramesPerRound);
            int writtenBeforeMoveReturned = 0;
            long allocated = 0;
            for (int i = 1; i <= Rounds; i++)
            {
                client.Send(round);
                long expected = (long)i * FramesPerRound;
                Integration.Support.Eventually.True(() => metrics.Received == expected && io.SleepsAwaitingHorizonForTest(),
                    () => $"round {i}: {metrics.Received} of {expected} frames read, or the loop never went back to sleep awaiting the horizon", Deadline);

                // The loop sleeps with no timer and nothing to read: only this call can write the ack
                // before it returns; a wake of the loop would write it after.
                long before = GC.GetAllocatedBytesForCurrentThread();
                horizon.Move(ring.Sequencer.Cursor.Value);
                long after = GC.GetAllocatedBytesForCurrentThread();
                if (i > 1)
                {
                    // The first move may meet what the runtime creates once per thread.
                    allocated += after - before;
                }

                if (client.Available >= AckFrame.Size)
                {
                    writtenBeforeMoveReturned++;
                }

                AckFrame ack = ReadAcksUntil(client, a => a.Settled >= expected, reader);
                Assert.True(ack == new AckFrame(expected, 0), $"round {i}: after the horizon passed every event the ack says {ack}, not {expected} accepted");
            }

            Assert.True(writtenBeforeMoveReturned == Rounds,
                $"only {writtenBeforeMoveReturned} of {Rounds} acks were in the client's socket when the horizon's move returned: the others waited for the loop's wake-up");
            Assert.True(allocated == 0, $"writing acks on the horizon's thread allocated {allocated} bytes there over {Rounds - 1} moves");
        }
        finally
        {
            source.Stop(TimeSpan.FromSeconds(5));
        }
    }

    [Fact]
    public void AHalfClosedConnection_IsClosedByItsLoop_WhenTheHorizonMovesOnAnotherThread()
    {
        using var ring = new EventRing(slots: 1 << 12, arenaBytes: 1 << 20, lockMemory: false, notifyOnPublish: false);
        var horizon = new HeldHorizon();
        (StreamSource source, SourceMetrics metrics) = Source(ring, SourceFormat.Binary, horizon);
        source.Start();
        try
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            client.Connect(source.LocalEndPoint!);
            client.Send(Frames(0, 10));
            client.Shutdown(SocketShutdown.Send);
            Integration.Support.Eventually.True(() => metrics.Received == 10 && source.IoThreadForTest(0).SleepsAwaitingHorizonForTest(),
                () => $"{metrics.Received} of 10 frames read, or the loop never went back to sleep awaiting the horizon", Deadline);
            Assert.True(!client.Poll(0, SelectMode.SelectRead), "the half-closed connection was acked or closed while the horizon was behind every event");

            horizon.Move(ring.Sequencer.Cursor.Value);
            var reader = new AckReader(client);
            AckFrame ack = ReadAcksUntil(client, a => a.Settled >= 10, reader);
            Assert.True(ack == new AckFrame(10, 0), $"after the horizon passed every event the ack says {ack}, not 10 accepted");
            DateTime deadline = DateTime.UtcNow + Deadline;
            byte[] rest = new byte[64];
            while (true)
            {
                Assert.True(DateTime.UtcNow < deadline, "the daemon never closed its side of a half-closed connection whose events are all durable");
                if (client.Poll(10_000, SelectMode.SelectRead) && client.Available == 0 && client.Receive(rest) == 0)
                {
                    break;
                }

                reader.Drain();
            }
        }
        finally
        {
            source.Stop(TimeSpan.FromSeconds(5));
        }
    }

    [Fact]
    public void AClientThatDoesNotReadItsAcks_IsStillRead_AndGetsTheLatestTotalsOnceItReads()
    {
        const int Rounds = 3000;
        using var ring = new EventRing(slots: 1 << 14, arenaBytes: 1 << 22, lockMemory: false, notifyOnPublish: false);
        (StreamSource source, SourceMetrics metrics) = Source(ring, SourceFormat.Binary, horizon: null);
        var io = new IoThread(source, 0, -1);
        (Socket client, Socket server) = ConnectedPair(clientReceiveBuffer: 1024, serverSendBuffer: 1024);
        using (client)
        using (server)
        {
            StreamConnection connection = io.AdoptForTest(Fd(server));
            for (int i = 0; i < Rounds; i++)
            {
                client.Send(Frame(i, ack: true));
                ReadUntil(io, connection, () => metrics.Received == i + 1, () => $"frame {i} was not read while the client left its acks unread");
                io.SettleForTest();
            }

            Assert.True(metrics.Received == Rounds, $"{metrics.Received} of {Rounds} frames read");
            Assert.True(io.SettlingForTest == 1, "with the client's buffers full, its newest totals should wait in the connection's one pending ack");
            Assert.True(metrics.AcksSent < Rounds, $"{metrics.AcksSent} acks for {Rounds} frames: the unread acks were never held back");

            // The client drains: what it reads ends with the totals of every frame.
            var reader = new AckReader(client);
            DateTime deadline = DateTime.UtcNow + Deadline;
            while (reader.Last.Settled < Rounds)
            {
                Assert.True(DateTime.UtcNow < deadline, $"the client read acks up to {reader.Last} of {Rounds} frames");
                io.SettleForTest();
                reader.Drain();
            }

            Assert.True(reader.Last == new AckFrame(Rounds, 0), $"the last ack says {reader.Last}");
            Assert.True(io.SettlingForTest == 0, "the connection still waits with every ack read");
        }
    }

    [Fact]
    public void ReadingAnAckedConnection_AllocatesNothingPerReadOrAck()
    {
        const int FramesPerRound = 200;
        using var ring = new EventRing(slots: 1 << 14, arenaBytes: 1 << 22, lockMemory: false, notifyOnPublish: false);
        (StreamSource source, SourceMetrics metrics) = Source(ring, SourceFormat.Binary, horizon: null);
        var io = new IoThread(source, 0, -1);
        (Socket client, Socket server) = ConnectedPair();
        using (client)
        using (server)
        {
            StreamConnection connection = io.AdoptForTest(Fd(server));
            byte[] round = Frames(0, FramesPerRound);
            byte[] acks = new byte[64 * 1024];
            long allocated = 0;
            long expected = 0;
            void Round()
            {
                expected += FramesPerRound;
                client.Send(round);
                DateTime deadline = DateTime.UtcNow + Deadline;
                while (metrics.Received < expected)
                {
                    if (DateTime.UtcNow >= deadline)
                    {
                        Assert.Fail($"a round of {FramesPerRound} frames was not read within 10 s ({metrics.Received} of {expected})");
                    }

                    long before = GC.GetAllocatedBytesForCurrentThread();
                    io.ReadForTest(connection);
                    io.SettleForTest();
                    allocated += GC.GetAllocatedBytesForCurrentThread() - before;
                }

                while (client.Available > 0)
                {
                    client.Receive(acks);
                }
            }

            for (int i = 0; i < 50; i++)
            {
                Round();
            }

            allocated = 0;
            long acksBefore = metrics.AcksSent;
            using (var watch = CollectionWatch.Start())
            {
                for (int i = 0; i < 1000; i++)
                {
                    Round();
                }

                Assert.True(watch.Collections == 0, $"collections ran while reading and acking: {watch.Describe()}");
            }

            Assert.True(metrics.AcksSent - acksBefore >= 1000, $"{metrics.AcksSent - acksBefore} acks for 1,000 rounds: the path measured did not ack");
            Assert.True(allocated == 0, $"reading and acking allocated {allocated} bytes over 1,000 rounds of {FramesPerRound} frames");
        }
    }

    [Fact]
    public void AHalfClosedJsonConnection_IsClosedOnlyOnceItsEventsAreDurable()
    {
        using var ring = new EventRing(slots: 1 << 12, arenaBytes: 1 << 20, lockMemory: false, notifyOnPublish: false);
        var horizon = new HeldHorizon();
        (StreamSource source, SourceMetrics metrics) = Source(ring, SourceFormat.Json, horizon);
        var io = new IoThread(source, 0, -1);
        (Socket client, Socket server) = ConnectedPair();
        using (client)
        {
            // The I/O thread closes the descriptor it was given: give it the only one left open.
            int fd = TestLibc.dup(Fd(server));
            server.Dispose();
            StreamConnection connection = io.AdoptForTest(fd);
            client.Send(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 10).Select(i => $"{{\"value\":{i}}}\n"))));
            client.Shutdown(SocketShutdown.Send);
            ReadUntil(io, connection, () => connection.Ended, () => $"the half-close was not seen ({metrics.Received} of 10 events read)");
            Assert.True(metrics.Received == 10, $"{metrics.Received} of 10 events reached the ring before the end of stream");

            io.SettleForTest();
            Assert.True(connection.Fd >= 0 && !client.Poll(0, SelectMode.SelectRead),
                "the daemon closed a half-closed connection while its events were not durable");

            horizon.Value = ring.Sequencer.Cursor.Value;
            io.SettleForTest();
            Assert.True(client.Poll((int)Deadline.TotalMicroseconds, SelectMode.SelectRead) && client.Receive(new byte[16]) == 0,
                "the daemon did not close a half-closed connection once its events were durable");
        }
    }

    [Fact]
    public void AHalfClosingClient_SeesTheCloseAfterItsEventsAreCounted_OnARunningSource()
    {
        using var ring = new EventRing(slots: 1 << 12, arenaBytes: 1 << 20, lockMemory: false, notifyOnPublish: false);
        (StreamSource source, SourceMetrics metrics) = Source(ring, SourceFormat.Json, horizon: null);
        source.Start();
        try
        {
            for (int round = 0; round < 20; round++)
            {
                long before = metrics.Received;
                using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                client.Connect(source.LocalEndPoint!);
                client.Send(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 50).Select(i => $"{{\"value\":{i}}}\n"))));
                client.Shutdown(SocketShutdown.Send);
                client.ReceiveTimeout = (int)Deadline.TotalMilliseconds;
                Assert.True(client.Receive(new byte[16]) == 0, "the daemon sent bytes on a JSON connection");
                long counted = metrics.Received - before;
                Assert.True(counted == 50, $"round {round}: the client saw the close with {counted} of its 50 events counted");
            }
        }
        finally
        {
            source.Stop(TimeSpan.FromSeconds(5));
        }
    }

    private static void ReadUntil(IoThread io, StreamConnection connection, Func<bool> done, Func<string> describe)
    {
        DateTime deadline = DateTime.UtcNow + Deadline;
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, describe());
            io.ReadForTest(connection);
        }
    }

    /// <summary>Reads acks until one satisfies <paramref name="enough"/>; returns it.</summary>
    private static AckFrame ReadAcksUntil(Socket client, Func<AckFrame, bool> enough, AckReader? reader = null)
    {
        reader ??= new AckReader(client);
        DateTime deadline = DateTime.UtcNow + Deadline;
        while (!enough(reader.Last))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the client read acks up to {reader.Last} and no more");
            if (client.Poll(10_000, SelectMode.SelectRead))
            {
                reader.Drain();
            }
        }

        return reader.Last;
    }

    /// <summary>The client's side: reads what has arrived without blocking, in whole 24-byte ack
    /// frames (a frame cut by the daemon's partial write is completed by a later read).</summary>
    private sealed class AckReader(Socket client)
    {
        private readonly byte[] _frame = new byte[AckFrame.Size];
        private int _filled;

        public AckFrame Last { get; private set; }

        public void Drain()
        {
            while (client.Available > 0)
            {
                _filled += client.Receive(_frame, _filled, Math.Min(_frame.Length - _filled, client.Available), SocketFlags.None);
                if (_filled < _frame.Length)
                {
                    continue;
                }

                _filled = 0;
                AckFrame ack = AckFrame.Read(_frame);
                Assert.True(ack.Accepted >= Last.Accepted && ack.Rejected >= Last.Rejected, $"acks went backwards: {Last} then {ack}");
                Last = ack;
            }
        }
    }

    private static byte[] Frame(int i, bool ack)
    {
        byte[] type = "t"u8.ToArray();
        var e = new FrameEvent { Type = type, Value = i, AckRequested = ack };
        byte[] frame = new byte[BinaryFrameWriter.GetFrameLength(in e)];
        BinaryFrameWriter.Write(frame, in e);
        return frame;
    }

    private static byte[] Frames(int first, int count)
    {
        var stream = new MemoryStream();
        for (int i = first; i < first + count; i++)
        {
            stream.Write(Frame(i, ack: true));
        }

        return stream.ToArray();
    }

    /// <summary>A frame the daemon skips for its content (<c>bad_value</c>): the writer refuses NaN, so it is patched in.</summary>
    private static byte[] NaNFrame()
    {
        byte[] frame = Frame(0, ack: true);
        BinaryPrimitives.WriteDoubleLittleEndian(frame.AsSpan(16), double.NaN);
        return frame;
    }

    private static int Fd(Socket socket) => (int)socket.SafeHandle.DangerousGetHandle();

    private static (StreamSource Source, SourceMetrics Metrics) Source(EventRing ring, SourceFormat format, IDurableHorizon? horizon)
    {
        var metrics = new SourceMetrics("in", 1);
        var config = new TcpSourceConfig("in", default, format, 1024, new HostPort("127.0.0.1", 0), new IPEndPoint(IPAddress.Loopback, 0), 16);
        return (new StreamSource(config, metrics, ring, new BadInputLog(), 1024, ioThreads: 1, horizon: horizon), metrics);
    }

    /// <summary>A TCP connection over loopback; the server end non-blocking, as accept4 gives it.
    /// Buffer sizes, when given, are set before the connection so that the window follows them.</summary>
    private static (Socket Client, Socket Server) ConnectedPair(int clientReceiveBuffer = 0, int serverSendBuffer = 0)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        if (serverSendBuffer > 0)
        {
            listener.SendBufferSize = serverSendBuffer;
        }

        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (clientReceiveBuffer > 0)
        {
            client.ReceiveBufferSize = clientReceiveBuffer;
        }

        client.Connect(listener.LocalEndPoint!);
        Socket server = listener.Accept();
        server.Blocking = false;
        return (client, server);
    }

    /// <summary>A horizon the test moves by hand: <see cref="Value"/> quietly (the tests that settle
    /// through the hooks), <see cref="Move"/> telling its listeners, as a journal's syncer does.</summary>
    private sealed class HeldHorizon : IDurableHorizon
    {
        private readonly List<IDurableHorizonListener> _listeners = [];
        private long _value = -1;

        public long Value
        {
            get => Volatile.Read(ref _value);
            set => Volatile.Write(ref _value, value);
        }

        public long DurableRingSequence => Value;

        public void Move(long value)
        {
            Value = value;
            lock (_listeners)
            {
                foreach (IDurableHorizonListener listener in _listeners)
                {
                    listener.DurableHorizonMoved();
                }
            }
        }

        public void Subscribe(IDurableHorizonListener listener)
        {
            lock (_listeners)
            {
                _listeners.Add(listener);
            }
        }

        public void Unsubscribe(IDurableHorizonListener listener)
        {
            lock (_listeners)
            {
                _listeners.Remove(listener);
            }
        }
    }
}
