using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using EventDaemon.Ring;
using EventDaemon.Ring.Memory;
using EventDaemon.Ring.Sequencing;
using EventDaemon.Ring.Waiting;

namespace EventDaemon.Perf.Ring;

internal static class PingPong
{
    /// <summary>Measures both sides and writes them for the report step.</summary>
    public static void Write(string path, int trips)
    {
        Latency ring = Ring(trips);
        Latency channels = Channels(trips);
        Console.WriteLine($"  ping-pong round trip (ns): ring p50 {ring.P50:N0} p99 {ring.P99:N0}; channels p50 {channels.P50:N0} p99 {channels.P99:N0}");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream);
        json.WriteStartObject();
        json.WriteNumber("trips", trips);
        ring.Write(json, "ring");
        channels.Write(json, "channels");
        json.WriteEndObject();
    }

    /// <summary>The echo stage: on each ping, publishes a pong into the second ring (its one producer).</summary>
    private struct Echo : IEventHandler<Slot>
    {
        public Sequencer Pong;
        public RingBuffer<Slot> PongRing;

        public void OnStart()
        {
        }

        public void OnEvent(ref Slot slot, long sequence, bool endOfBatch)
        {
            long s = Pong.Next();
            PongRing[s].Value = slot.Value;
            Pong.Publish(s);
        }

        public void OnTimeout(long sequence)
        {
        }

        public void OnShutdown()
        {
        }
    }

    public static Latency Ring(int trips)
    {
        using var pingRing = new RingBuffer<Slot>(1024);
        using var pongRing = new RingBuffer<Slot>(1024);
        Sequencer ping = EventGraph<Slot, AdaptiveWait>.CreateSequencer(1024, false);
        Sequencer pong = EventGraph<Slot, AdaptiveWait>.CreateSequencer(1024, false);
        using var graph = new EventGraph<Slot, AdaptiveWait>(pingRing, ping);
        graph.Add("echo", new Echo { Pong = pong, PongRing = pongRing });
        var received = new Sequence();
        pong.SetGatingSequences([received]);
        SequenceBarrier barrier = pong.NewBarrier();
        graph.Start();

        var samples = new long[trips];
        var wait = new AdaptiveWait();
        for (int i = 0; i < trips + 1000; i++)
        {
            long start = Stopwatch.GetTimestamp();
            long s = ping.Next();
            pingRing[s].Value = i;
            ping.Publish(s);
            long got = barrier.WaitFor(ref wait, s, long.MaxValue);
            received.SetValue(got);
            long elapsed = Stopwatch.GetTimestamp() - start;
            if (i >= 1000)
            {
                samples[i - 1000] = elapsed * 1_000_000_000 / Stopwatch.Frequency;
            }
        }

        graph.Halt(TimeSpan.FromSeconds(10));
        return Latency.From(samples);
    }

    public static Latency Channels(int trips)
    {
        var ping = Channel.CreateBounded<long>(new BoundedChannelOptions(1024) { SingleReader = true, SingleWriter = true });
        var pong = Channel.CreateBounded<long>(new BoundedChannelOptions(1024) { SingleReader = true, SingleWriter = true });
        Task echo = Task.Run(async () =>
        {
            await foreach (long value in ping.Reader.ReadAllAsync())
            {
                await pong.Writer.WriteAsync(value);
            }
        });

        var samples = new long[trips];
        Task.Run(async () =>
        {
            for (int i = 0; i < trips + 1000; i++)
            {
                long start = Stopwatch.GetTimestamp();
                await ping.Writer.WriteAsync(i);
                await pong.Reader.ReadAsync();
                long elapsed = Stopwatch.GetTimestamp() - start;
                if (i >= 1000)
                {
                    samples[i - 1000] = elapsed * 1_000_000_000 / Stopwatch.Frequency;
                }
            }
        }).GetAwaiter().GetResult();
        ping.Writer.Complete();
        echo.GetAwaiter().GetResult();
        return Latency.From(samples);
    }
}
