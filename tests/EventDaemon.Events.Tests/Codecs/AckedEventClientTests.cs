using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using EventDaemon.Client;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Tests.Codecs.Interop;
using EventDaemon.Events.Tests.Support;
using Xunit;

namespace EventDaemon.Events.Tests.Codecs;

/// <summary>
/// <see cref="EventClient"/> with acks against a test server that plays the daemon: frames carry
/// <c>ack_requested</c>, unsettled frames are bounded (the sender waits for acks), and a reconnect
/// writes every unsettled frame again, first, in order; the socket handle it hands out is what a
/// caller waiting for acks itself polls.
/// </summary>
public sealed class AckedEventClientTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact]
    public void AFullWindow_WaitsForAcks_AndNeverHoldsMoreThanItsBound()
    {
        const int Frames = 2000;
        const int Bound = 16;
        using var listener = Listen(out IPEndPoint endPoint);
        var server = new Thread(() => AckEverything(listener.Accept(), Frames)) { IsBackground = true };
        server.Start();
        using EventClient client = EventClient.Connect(endPoint, new EventClientOptions { RequestAcks = true, MaxUnacknowledgedFrames = Bound, BatchBytes = 256 });
        int most = 0;
        for (int i = 0; i < Frames; i++)
        {
            client.SendFrame(new FrameEvent { Type = "t"u8, Value = i });
            most = Math.Max(most, client.UnacknowledgedFrames);
        }

        Assert.True(client.WaitForAcks(Deadline), $"{client.UnacknowledgedFrames} frames unsettled at the end");
        Assert.True(most <= Bound, $"the client held {most} unsettled frames; its bound is {Bound}");
        Assert.True(client.FramesAccepted == Frames, $"{client.FramesAccepted} of {Frames} frames settled as accepted");
        Assert.True(server.Join(Deadline), "the test server did not see every frame");
    }

    [Fact]
    public void Reconnect_WritesEveryUnsettledFrameAgain_FirstAndInOrder()
    {
        using var listener = Listen(out IPEndPoint endPoint);
        using EventClient client = EventClient.Connect(endPoint, new EventClientOptions { RequestAcks = true });
        for (int i = 0; i < 10; i++)
        {
            client.SendFrame(new FrameEvent { Type = "t"u8, Value = i });
        }

        client.Flush();
        using (Socket first = listener.Accept())
        {
            List<DecodedFrame> frames = ReadFrames(first, 10);
            Assert.True(frames.All(f => (f.Bytes[5] & BinaryFrameWriter.FlagAckRequested) != 0), "a frame of an acked client does not carry ack_requested");

            // Three accepted and one rejected: the first four are settled, then the connection breaks.
            first.Send(Ack(3, 1));
            DateTime deadline = DateTime.UtcNow + Deadline;
            while (client.FramesAcknowledged < 4)
            {
                Assert.True(DateTime.UtcNow < deadline, $"the client settled {client.FramesAcknowledged} of 4 frames");
                client.PollAcks(TimeSpan.FromMilliseconds(10));
            }
        }

        int resent = client.Reconnect();
        client.SendFrame(new FrameEvent { Type = "t"u8, Value = 10 });
        client.Flush();
        using Socket second = listener.Accept();
        List<DecodedFrame> again = ReadFrames(second, 7);
        double[] values = again.Select(f => f.Slot.Value).ToArray();
        Assert.True(resent == 6, $"{resent} frames resent; 6 were unsettled");
        Assert.True(values.SequenceEqual([4, 5, 6, 7, 8, 9, 10]), $"the new connection carried {string.Join(", ", values)}: the unsettled frames first, in order, then the new one");
        Assert.True(client.FramesAccepted == 3 && client.FramesRejected == 1, $"totals {client.FramesAccepted}/{client.FramesRejected} after the reconnect, 3/1 expected");

        // The new connection's totals count from the first resent frame.
        second.Send(Ack(7, 0));
        Assert.True(client.WaitForAcks(Deadline), $"{client.UnacknowledgedFrames} frames unsettled after the new connection acked all 7");
        Assert.True(client.FramesAccepted == 10 && client.FramesRejected == 1, $"totals {client.FramesAccepted}/{client.FramesRejected}, 10/1 expected");
    }

    [Fact]
    public void SocketHandle_PollsReadableWhenAnAckArrives_AndPollAcksWithNoWaitReadsIt()
    {
        using var listener = Listen(out IPEndPoint endPoint);
        using EventClient client = EventClient.Connect(endPoint, new EventClientOptions { RequestAcks = true });
        for (int i = 0; i < 5; i++)
        {
            client.SendFrame(new FrameEvent { Type = "t"u8, Value = i });
        }

        client.Flush();
        using Socket server = listener.Accept();
        ReadFrames(server, 5);
        Assert.True(PollIn(client, 0) == 0, "the client's socket polled readable before the server sent anything");
        client.PollAcks();
        Assert.True(client.UnacknowledgedFrames == 5, $"{client.UnacknowledgedFrames} frames unsettled before any ack; 5 expected");

        server.Send(Ack(5, 0));
        Assert.True(PollIn(client, (int)Deadline.TotalMilliseconds) == 1, "the client's socket did not poll readable once the server sent an ack");
        client.PollAcks();
        Assert.True(client.UnacknowledgedFrames == 0 && client.FramesAccepted == 5,
            $"after a readable poll, PollAcks with no wait left {client.UnacknowledgedFrames} frames unsettled ({client.FramesAccepted} accepted); all 5 were acked");
        Assert.True(PollIn(client, 0) == 0, "the client's socket still polled readable after PollAcks read the ack");
    }

    [Fact]
    public void SocketHandle_AfterReconnect_IsTheNewConnections_AndTheOldOneIsClosed()
    {
        using var listener = Listen(out IPEndPoint endPoint);
        using EventClient client = EventClient.Connect(endPoint, new EventClientOptions { RequestAcks = true });
        SafeSocketHandle before = client.SocketHandle;
        listener.Accept().Dispose();

        client.Reconnect();
        client.SendFrame(new FrameEvent { Type = "t"u8, Value = 1 });
        client.Flush();
        using Socket second = listener.Accept();
        ReadFrames(second, 1);
        second.Send(Ack(1, 0));
        Assert.True(before.IsClosed, "the first connection's handle is still open after Reconnect");
        Assert.True(!client.SocketHandle.IsClosed, "the handle after Reconnect is closed");
        Assert.True(PollIn(client, (int)Deadline.TotalMilliseconds) == 1, "the handle after Reconnect did not poll readable when the new connection was acked");
        client.PollAcks();
        Assert.True(client.UnacknowledgedFrames == 0, $"{client.UnacknowledgedFrames} frames unsettled after the new connection acked its one frame");
    }

    /// <summary>Polls the client's socket for <c>POLLIN</c> as a caller waiting on it itself does: 1 when readable, 0 on timeout.</summary>
    private static int PollIn(EventClient client, int timeoutMilliseconds)
    {
        var fd = new TestLibc.PollFd { Fd = (int)client.SocketHandle.DangerousGetHandle(), Events = TestLibc.PollIn };
        int ready = TestLibc.poll(ref fd, 1, timeoutMilliseconds);
        Assert.True(ready >= 0, $"poll failed: errno {Marshal.GetLastPInvokeError()}");
        Assert.True(ready == 0 || (fd.ReturnedEvents & TestLibc.PollIn) != 0, $"poll returned events {fd.ReturnedEvents:x} without POLLIN");
        return ready;
    }

    private static Socket Listen(out IPEndPoint endPoint)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(2);
        endPoint = (IPEndPoint)listener.LocalEndPoint!;
        return listener;
    }

    /// <summary>Plays the daemon: after each read, acks every whole frame so far as accepted.</summary>
    private static void AckEverything(Socket socket, int frames)
    {
        using (socket)
        {
            var decoder = new BinaryFrameDecoder(1024);
            var sink = new FrameCollector();
            byte[] buffer = new byte[4096];
            while (sink.Frames.Count < frames)
            {
                int n = socket.Receive(buffer);
                if (n == 0)
                {
                    return;
                }

                decoder.Feed(buffer.AsSpan(0, n), ref sink);
                socket.Send(Ack(sink.Frames.Count, 0));
            }
        }
    }

    private static List<DecodedFrame> ReadFrames(Socket socket, int count)
    {
        var decoder = new BinaryFrameDecoder(1024);
        var sink = new FrameCollector();
        byte[] buffer = new byte[4096];
        socket.ReceiveTimeout = (int)Deadline.TotalMilliseconds;
        while (sink.Frames.Count < count)
        {
            int n = socket.Receive(buffer);
            Assert.True(n > 0, $"the client closed after {sink.Frames.Count} of {count} frames");
            Assert.True(decoder.Feed(buffer.AsSpan(0, n), ref sink) == FrameError.None, "the client sent a stream that does not decode");
        }

        return sink.Frames;
    }

    private static byte[] Ack(long accepted, long rejected)
    {
        byte[] frame = new byte[AckFrame.Size];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(frame, AckFrame.Size - 4);
        frame[4] = AckFrame.Version;
        frame[5] = AckFrame.TypeAck;
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(8), accepted);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(16), rejected);
        Assert.True(AckFrame.Read(frame) == new AckFrame(accepted, rejected), "the test's ack does not read back");
        return frame;
    }
}
