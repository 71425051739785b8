using BenchmarkDotNet.Attributes;
using EventDaemon.Events;
using EventDaemon.Events.Ingest;
using EventDaemon.Ring;
using EventDaemon.Ring.Memory;
using EventDaemon.Ring.Sequencing;

namespace EventDaemon.Benchmarks;

/// <summary>
/// The producer's and consumer's per-event costs in isolation, single-threaded: claim + publish,
/// batch claim + publish, and the ingest turn (claim, copy payload, publish) that sources use,
/// and what a consumer's batch end costs when nobody sleeps on its sequence.
/// The gating sequence is advanced by hand so the ring never fills. [MemoryDiagnoser] proves 0 B.
/// </summary>
[MemoryDiagnoser]
public class RingBenchmarks
{
    private const int Size = 1 << 16;
    private const int OperationsPerInvoke = 1024;

    private RingBuffer<EventSlot> _ring = null!;
    private SingleProducerSequencer _single = null!;
    private MultiProducerSequencer _multi = null!;
    private Sequence _consumer = null!;
    private Sequence _multiConsumer = null!;
    private EventRing _eventRing = null!;
    private Sequence _eventConsumer = null!;
    private readonly Sequence _batchEnd = new();
    private byte[] _payload = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ring = new RingBuffer<EventSlot>(Size);
        _single = new SingleProducerSequencer(Size, notifyOnPublish: true);
        _multi = new MultiProducerSequencer(Size, notifyOnPublish: true);
        _consumer = new Sequence();
        _multiConsumer = new Sequence();
        _single.SetGatingSequences([_consumer]);
        _multi.SetGatingSequences([_multiConsumer]);
        _eventRing = new EventRing(Size, 1 << 24, lockMemory: false, notifyOnPublish: true);
        _eventConsumer = new Sequence();
        _eventRing.Sequencer.SetGatingSequences([_eventConsumer]);
        _payload = "{\"type\":\"purchase\",\"key\":\"user-42\",\"value\":12.5,\"ts\":1764151200000000000}"u8.ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ring.Dispose();
        _eventRing.Dispose();
    }

    [Benchmark(OperationsPerInvoke = OperationsPerInvoke, Description = "single producer: Next + write + Publish")]
    public long SingleProducerPublish()
    {
        long s = 0;
        for (int i = 0; i < OperationsPerInvoke; i++)
        {
            s = _single.Next();
            _ring[s].Value = i;
            _single.Publish(s);
        }

        _consumer.SetValue(s);
        return s;
    }

    [Benchmark(OperationsPerInvoke = OperationsPerInvoke, Description = "single producer: Next(64) + Publish(lo, hi)")]
    public long SingleProducerBatchPublish()
    {
        long high = 0;
        for (int i = 0; i < OperationsPerInvoke; i += 64)
        {
            high = _single.Next(64);
            for (long s = high - 63; s <= high; s++)
            {
                _ring[s].Value = s;
            }

            _single.Publish(high - 63, high);
        }

        _consumer.SetValue(high);
        return high;
    }

    [Benchmark(OperationsPerInvoke = OperationsPerInvoke, Description = "multi producer (uncontended): Next + write + Publish")]
    public long MultiProducerPublish()
    {
        long s = 0;
        for (int i = 0; i < OperationsPerInvoke; i++)
        {
            s = _multi.Next();
            _ring[s].Value = i;
            _multi.Publish(s);
        }

        _multiConsumer.SetValue(s);
        return s;
    }

    [Benchmark(OperationsPerInvoke = OperationsPerInvoke, Description = "batch end with nobody asleep: SetValue + WakeWaiters")]
    public long BatchEndWithNoSleeper()
    {
        // What a consumer pays per batch to wake its dependants: one plain read of the sleepers
        // flag beside the value it has just written.
        for (int i = 0; i < OperationsPerInvoke; i++)
        {
            _batchEnd.SetValue(i);
            _batchEnd.WakeWaiters();
        }

        return _batchEnd.Value;
    }

    [Benchmark(OperationsPerInvoke = OperationsPerInvoke, Description = "ingest turn: 1024 events of 75 B (claim, copy slot + payload, one publish)")]
    public long IngestBatch()
    {
        var slot = new EventSlot { Value = 1, Flags = EventFlags.HasValue };
        IngestBatch batch = _eventRing.BeginBatch();
        for (int i = 0; i < OperationsPerInvoke; i++)
        {
            batch.TryAppend(ref slot, _payload, wait: false);
        }

        batch.Dispose();
        long cursor = _eventRing.Sequencer.Cursor.Value;
        _eventConsumer.SetValue(cursor);
        return cursor;
    }
}
