using System.Runtime.CompilerServices;
using EventDaemon.Events;
using EventDaemon.Events.Fields;
using EventDaemon.Events.Ingest;
using EventDaemon.Ring;
using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;
using EventDaemon.Stages.Transforms.Internal;

namespace EventDaemon.Stages.Transforms;

/// <summary>
/// The <c>sample</c> transform: lets 1 event in <c>rate</c> through, marking the others with its
/// bit in <see cref="EventSlot.Marks"/> like a filter.
/// </summary>
/// <remarks>
/// <para>With a <c>key</c>, the decision is a hash of the key's value (<see cref="FieldSelector"/>):
/// an event passes when <c>hash % rate == 0</c>, so all events of one key are kept or dropped
/// together, and the same key gets the same decision on every run and every instance (the hash is
/// seeded with a constant). About 1 key in <c>rate</c> is kept, so the share of events kept
/// follows the keys' traffic.</para>
/// <para>Without a key (and for events that lack the key field), every <c>rate</c>-th event that
/// reaches the stage passes, starting with the first: exactly 1 in <c>rate</c>, whatever the
/// payloads (a hash of the payload would keep or drop every copy of a repeated line at once).</para>
/// </remarks>
public struct SampleHandler : IEventHandler<EventSlot>
{
    /// <summary>A constant seed: decisions must not change between runs.</summary>
    private const ulong Seed = 0x5A3B1E_0FF1CE;

    private readonly EventReader _ring;
    private readonly Partition _partition;
    private readonly ulong _rate;
    private readonly FieldSelector? _key;
    private readonly Reach _reach;
    private readonly ulong _bit;
    private readonly StageMetrics _metrics;

    // Events seen without a usable key; not readonly: the handler counts in place.
    private ulong _unkeyed;

    public SampleHandler(EventReader ring, int rate, FieldSelector? key, Reach reach, int markBit, StageMetrics metrics, Partition partition = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rate, 1);
        _ring = ring;
        _partition = partition.In(ring.Catalog);
        _rate = (ulong)rate;
        _key = key?.In(ring.Catalog);
        _reach = reach;
        _bit = 1UL << markBit;
        _metrics = metrics;
        _unkeyed = 0;
    }

    public readonly void OnStart()
    {
    }

    [SkipLocalsInit]
    public void OnEvent(ref EventSlot slot, long sequence, bool endOfBatch)
    {
        if (_partition.Skips(_ring, ref slot, sequence))
        {
            return; // another thread of this stage takes it
        }

        bool pass = _reach.Delivers(ref slot) && Marking.Counted(Decide(ref slot, sequence), ref slot, sequence, endOfBatch, _metrics, ref _metrics.Counters.SampledOut);
        Marking.MarkUnless(pass, ref slot, _bit);
    }

    public readonly void OnTimeout(long sequence)
    {
    }

    public readonly void OnShutdown()
    {
    }

    /// <summary>The keyed decision for a value's text: the same on every run.</summary>
    public static bool Keeps(ReadOnlySpan<byte> text, int rate) => StableHash.Hash(text, Seed) % (ulong)rate == 0;

    [SkipLocalsInit]
    private bool Decide(ref EventSlot slot, long sequence)
    {
        if (_key is { } key)
        {
            var view = _ring.View(ref slot, sequence);
            ReadOnlySpan<byte> payload = view.Payload;
            if (key.TryLocate(in view, out int offset, out int length, out bool escaped))
            {
                Span<byte> scratch = stackalloc byte[FieldSelector.ScratchBytes];
                return StableHash.Hash(FieldSelector.Text(payload, offset, length, escaped, scratch), Seed) % _rate == 0;
            }
        }

        return _unkeyed++ % _rate == 0;
    }
}
