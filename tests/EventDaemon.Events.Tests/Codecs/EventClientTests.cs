using System.Net;
using System.Net.Sockets;
using System.Text;
using EventDaemon.Client;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Tests.Support;
using Xunit;

namespace EventDaemon.Events.Tests.Codecs;

public class EventClientTests
{
    [Fact]
    public void SendFrame_OverUnixSocket_ArrivesAsDecodableFrames()
    {
        string path = Path.Combine(Path.GetTempPath(), $"eventd-client-test-{Environment.ProcessId}-{Guid.NewGuid():N}.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        try
        {
            byte[] received;
            using (var client = EventClient.ConnectUnix(path, batchBytes: 256))
            using (Socket server = listener.Accept())
            {
                for (int i = 0; i < 100; i++)
                {
                    client.SendFrame(new FrameEvent { Timestamp = i, Value = i * 0.5, Type = "t"u8, Key = Encoding.UTF8.GetBytes($"k{i}") });
                }

                client.Complete();
                received = ReadToEnd(server);
                Assert.True(client.EventsAppended == 100 && client.BytesSent == received.Length, $"client counters: {client.EventsAppended} events, {client.BytesSent} bytes; server got {received.Length}");
            }

            var decoder = new BinaryFrameDecoder(1024);
            var sink = new FrameCollector();
            Assert.True(decoder.Feed(received, ref sink) == FrameError.None && decoder.Complete() == FrameError.None, "the stream the client sent should decode cleanly");
            Assert.True(sink.Frames.Count == 100, $"100 frames expected, got {sink.Frames.Count}");
            Assert.True(sink.Frames[99].Slot.Timestamp == 99 && sink.Frames[99].Slot.Value == 49.5, "last frame fields should survive the trip");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void SendJson_OverTcp_ArrivesAsParsableLines()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var endPoint = (IPEndPoint)listener.LocalEndPoint!;

        byte[] received;
        using (var client = EventClient.ConnectTcp(endPoint))
        using (Socket server = listener.Accept())
        {
            client.SendJson(5, "pur\"chase"u8, "user\n1"u8, 19.5);
            client.SendJsonLine("{\"type\":\"raw\"}"u8);
            client.SendJson(null, default, default, null);
            client.Complete();
            received = ReadToEnd(server);
        }

        var framer = new LineFramer(1024);
        var sink = new LineCollector();
        framer.Feed(received, ref sink);
        framer.Complete(ref sink);
        Assert.True(sink.Lines.Count == 3, $"three lines expected, got {sink.Lines.Count}");
        Parsed first = Parsed.Json(sink.Lines[0]);
        Assert.True(first.Ok && first.Ts == 5 && first.Type == "pur\"chase" && first.Key == "user\n1" && first.Value == 19.5, $"SendJson line should round-trip, got {Encoding.UTF8.GetString(sink.Lines[0])}");
        Assert.True(Parsed.Json(sink.Lines[1]).Type == "raw", "SendJsonLine should add the newline");
        Assert.True(Parsed.Json(sink.Lines[2]).Ok, "an event with no fields is the empty object");
    }

    private static byte[] ReadToEnd(Socket socket)
    {
        var all = new MemoryStream();
        var buffer = new byte[4096];
        int n;
        while ((n = socket.Receive(buffer)) > 0)
        {
            all.Write(buffer, 0, n);
        }

        return all.ToArray();
    }

    private struct LineCollector : ILineSink
    {
        public LineCollector()
        {
        }

        public List<byte[]> Lines { get; } = [];

        public readonly void OnLine(ReadOnlySpan<byte> line) => Lines.Add(line.ToArray());

        public readonly void OnOversized() => throw new InvalidOperationException("no line here is oversized");
    }
}
