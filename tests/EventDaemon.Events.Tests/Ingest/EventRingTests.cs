using System.Buffers.Binary;
using EventDaemon.Events.Ingest;
using EventDaemon.Ring;
using EventDaemon.Ring.Waiting;
using Xunit;

namespace EventDaemon.Events.Tests.Ingest;

public sealed class EventRingTests
{
    internal sealed class Check
    {
        public long Seen;
        public long Corrupt;
        public long[] LastByProducer = [-1, -1, -1, -1];
        public long OutOfOrder;
    }

    /// <summary>Verifies each payload: [producer:1][counter:8][filler of counter-derived bytes].</summary>
    private struct Verifier : IEventHandler<EventSlot>
    {
        public EventRing Ring;
        public Check Check;

        public void OnStart()
        {
        }

        public void OnEvent(ref EventSlot slot, long sequence, bool endOfBatch)
        {
            ReadOnlySpan<byte> payload = Ring.Payload(ref slot);
            int producer = payload[0];
            long counter = BinaryPrimitives.ReadInt64LittleEndian(payload[1..]);
            if (slot.Value != counter || payload.Length != PayloadLength(counter))
            {
                Check.Corrupt++;
            }

            for (int i = 9; i < payload.Length; i++)
            {
                if (payload[i] != (byte)(counter + i))
                {
                    Check.Corrupt++;
                    break;
                }
            }

            if (counter != Check.LastByProducer[producer] + 1)
            {
                Check.OutOfOrder++;
            }

            Check.LastByProducer[producer] = counter;
            Check.Seen++;
        }

        public void OnTimeout(long sequence)
        {
        }

        public void OnShutdown()
        {
        }
    }

    private static int PayloadLength(long counter) => 9 + (int)(counter * 7919 % 600);

    private static void AppendOne(ref IngestBatch batch, int producer, long counter, scoped Span<byte> buffer)
    {
        int length = PayloadLength(counter);
        buffer[0] = (byte)producer;
        BinaryPrimitives.WriteInt64LittleEndian(buffer[1..], counter);
        for (int i = 9; i < length; i++)
        {
            buffer[i] = (byte)(counter + i);
        }

        var slot = new EventSlot { Value = counter, Flags = EventFlags.HasValue };
        Assert.True(batch.TryAppend(ref slot, buffer[..length], wait: true), "a waiting append was refused");
    }

    [Fact]
    public void Payloads_SurviveManyArenaLapsIntactAndInOrder()
    {
        using var ring = new EventRing(slots: 256, arenaBytes: 8192, lockMemory: false, notifyOnPublish: true);
        var check = new Check();
        using var graph = new EventGraph<EventSlot, AdaptiveWait>(ring.Slots, ring.Sequencer);
        graph.Add("verify", new Verifier { Ring = ring, Check = check });
        graph.Start();

        Span<byte> buffer = stackalloc byte[1024];
        const long events = 200_000;
        for (long i = 0; i < events;)
        {
            IngestBatch batch = ring.BeginBatch();
            for (int j = 0; j < 37 && i < events; j++, i++)
            {
                AppendOne(ref batch, 0, i, buffer);
            }

            batch.Dispose();
        }

        Assert.True(graph.Halt(TimeSpan.FromSeconds(30)), "the consumer did not stop");
        Assert.True(check.Seen == events, $"consumer saw {check.Seen} of {events}");
        Assert.True(check.Corrupt == 0, $"{check.Corrupt} payloads were corrupt: arena space reused too early or wrapped");
        Assert.True(check.OutOfOrder == 0, $"{check.OutOfOrder} events out of order");
    }

    [Fact]
    public void ProducersTakingTurns_LoseNothingAndKeepTheirOwnOrder()
    {
        using var ring = new EventRing(slots: 1024, arenaBytes: 1 << 16, lockMemory: false, notifyOnPublish: true);
        var check = new Check();
        using var graph = new EventGraph<EventSlot, AdaptiveWait>(ring.Slots, ring.Sequencer);
        graph.Add("verify", new Verifier { Ring = ring, Check = check });
        graph.Start();

        const long perProducer = 100_000;
        var threads = Enumerable.Range(0, 4).Select(p => new Thread(() =>
        {
            Span<byte> buffer = stackalloc byte[1024];
            for (long i = 0; i < perProducer;)
            {
                IngestBatch batch = ring.BeginBatch();
                for (int j = 0; j < 50 && i < perProducer; j++, i++)
                {
                    AppendOne(ref batch, p, i, buffer);
                }

                batch.Dispose();
            }
        })).ToArray();
        foreach (Thread t in threads)
        {
            t.Start();
        }

        foreach (Thread t in threads)
        {
            Assert.True(t.Join(TimeSpan.FromMinutes(1)), "a producer did not finish");
        }

        Assert.True(graph.Halt(TimeSpan.FromSeconds(30)), "the consumer did not stop");
        Assert.True(check.Seen == 4 * perProducer, $"consumer saw {check.Seen} of {4 * perProducer}");
        Assert.True(check.Corrupt == 0, $"{check.Corrupt} corrupt payloads");
        Assert.True(check.OutOfOrder == 0, $"{check.OutOfOrder} events broke their producer's order");
    }

    [Fact]
    public void AppendWithoutWaiting_IsRefusedWhenTheArenaIsFull_AndAcceptedOnceReleased()
    {
        using var ring = new EventRing(slots: 64, arenaBytes: 4096, lockMemory: false, notifyOnPublish: false);
        var consumer = new Sequence();
        ring.Sequencer.SetGatingSequences([consumer]);
        var slot = new EventSlot();
        byte[] payload = new byte[1000];

        IngestBatch batch = ring.BeginBatch();
        int accepted = 0;
        while (batch.TryAppend(ref slot, payload, wait: false))
        {
            accepted++;
        }

        batch.Dispose();
        Assert.True(accepted == 4, $"a 4 KiB arena took {accepted} payloads of 1000 bytes, expected 4");
        Assert.True(ring.ArenaUsed == 4000, $"arena reports {ring.ArenaUsed} bytes used, expected 4000");

        consumer.SetValue(1); // two events released
        batch = ring.BeginBatch();
        Assert.True(batch.TryAppend(ref slot, payload, wait: false), "space released by the consumer was not reused");
        Assert.True(batch.TryAppend(ref slot, payload, wait: false), "the second released payload's space was not reused");
        Assert.False(batch.TryAppend(ref slot, payload, wait: false), "appended beyond the space released");
        batch.Dispose();
    }

    [Fact]
    public void AppendWithoutWaiting_IsRefusedWhenTheRingIsFull()
    {
        using var ring = new EventRing(slots: 8, arenaBytes: 1 << 16, lockMemory: false, notifyOnPublish: false);
        ring.Sequencer.SetGatingSequences([new Sequence()]);
        var slot = new EventSlot();
        IngestBatch batch = ring.BeginBatch();
        for (int i = 0; i < 8; i++)
        {
            Assert.True(batch.TryAppend(ref slot, "x"u8, wait: false), $"append {i} into an empty ring of 8 failed");
        }

        Assert.False(batch.TryAppend(ref slot, "x"u8, wait: false), "a full ring accepted a ninth event");
        batch.Dispose();
        Assert.True(ring.Occupancy == 8, $"occupancy {ring.Occupancy}, expected 8");
    }

    [Fact]
    public void SteadyStateAppends_AllocateNothing()
    {
        using var ring = new EventRing(slots: 1024, arenaBytes: 1 << 16, lockMemory: false, notifyOnPublish: true);
        var check = new Check();
        using var graph = new EventGraph<EventSlot, AdaptiveWait>(ring.Slots, ring.Sequencer);
        graph.Add("verify", new Verifier { Ring = ring, Check = check });
        graph.Start();
        byte[] payload = new byte[120];
        var slot = new EventSlot();

        void Run(long count)
        {
            for (long i = 0; i < count; i += 100)
            {
                IngestBatch batch = ring.BeginBatch();
                for (int j = 0; j < 100; j++)
                {
                    batch.TryAppend(ref slot, payload, wait: true);
                }

                batch.Dispose();
            }
        }

        Run(100_000);

        // What the runtime creates once per thread, on paths the warm-up takes only if the scheduler
        // lets the ring fill: the producer's back-off when it is full (the spin, yield and sleep of
        // ClaimSlow) and a first park. Taken on purpose, so the measured run cannot be the first.
        var spin = new SpinWait();
        for (int i = 0; i < 40; i++)
        {
            spin.SpinOnce(sleep1Threshold: 30);
        }

        int generation = ring.Sequencer.Cursor.BeginWait();
        ring.Sequencer.Cursor.Park(generation, 1);
        Run(100_000);

        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(1_000_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        graph.Halt(TimeSpan.FromSeconds(30));
        Assert.True(allocated == 0, $"1M appends allocated {allocated} bytes on the producer");
    }
}
