using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using EventDaemon.Events;
using EventDaemon.Events.Fields;
using EventDaemon.Events.Ingest;
using EventDaemon.Ring;
using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;
using EventDaemon.Stages.Transforms.Internal;

namespace EventDaemon.Stages.Transforms;

/// <summary>
/// The <c>throttle</c> transform: at most <c>limit</c> events per second per key; the excess is
/// marked with its bit in <see cref="EventSlot.Marks"/> (like a filter) and counted in
/// <c>events_dropped_total{reason="throttled"}</c>.
/// </summary>
/// <remarks>
/// <para>Seconds are fixed windows aligned to the wall clock (Unix-epoch seconds), measured at
/// each event's arrival (<see cref="EventSlot.IngestNanos"/>, moved onto the wall clock once at
/// start): the first <c>limit</c> events of a key arriving within one second pass, the rest of
/// that second do not. A backlog does not change decisions: they follow arrival, not processing.</para>
/// <para>Per-key counts live in an open-addressing table in unmanaged memory, keyed by a 64-bit hash
/// of the key's text (<see cref="FieldSelector"/>; a collision, odds about n²/2⁶⁵ per second,
/// would make two keys share a budget). Each slot carries the second it counts for, so a new
/// second empties the whole table at no cost. Without a <c>key</c>, all events share one budget;
/// events that lack the key field share one budget of their own.</para>
/// <para>Bound: at most <c>max_keys</c> keys are counted per second. Events of further keys in
/// that second are let through untracked and counted in <c>throttle_keys_overflow_total</c>:
/// memory never grows, and an operator sees that the bound is too low. (Throttling them together
/// instead would let one noisy key silence unrelated ones.)</para>
/// </remarks>
public struct ThrottleHandler : IEventHandler<EventSlot>
{
    private readonly EventReader _ring;
    private readonly Partition _partition;
    private readonly FieldSelector? _key;
    private readonly Reach _reach;
    private readonly ulong _bit;
    private readonly StageMetrics _metrics;
    private readonly ThrottleState _state;

    public ThrottleHandler(EventReader ring, int limit, FieldSelector? key, int maxKeys, Reach reach, int markBit, StageMetrics metrics, Partition partition = default)
        : this(ring, limit, key, maxKeys, reach, markBit, metrics, MonotonicClock.UnixNanos() - MonotonicClock.NowNanos(), partition)
    {
    }

    /// <param name="wallOffsetNanos">Added to <see cref="EventSlot.IngestNanos"/> (monotonic) to give Unix nanoseconds.</param>
    internal ThrottleHandler(EventReader ring, int limit, FieldSelector? key, int maxKeys, Reach reach, int markBit, StageMetrics metrics, long wallOffsetNanos, Partition partition = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxKeys, 1);
        _ring = ring;
        _partition = partition.In(ring.Catalog);
        _key = key?.In(ring.Catalog);
        _reach = reach;
        _bit = 1UL << markBit;
        _metrics = metrics;
        _state = new ThrottleState(limit, key is null ? 0 : maxKeys, wallOffsetNanos);
    }

    /// <summary>Keys counted in the current second (for tests and stats).</summary>
    public readonly int KeysThisSecond => _state.Keys;

    public readonly void OnStart()
    {
    }

    public readonly void OnEvent(ref EventSlot slot, long sequence, bool endOfBatch)
    {
        if (_partition.Skips(_ring, ref slot, sequence))
        {
            return; // another thread of this stage takes it
        }

        bool pass = _reach.Delivers(ref slot) && Marking.Counted(Admit(ref slot, sequence), ref slot, sequence, endOfBatch, _metrics, ref _metrics.Counters.Throttled);
        Marking.MarkUnless(pass, ref slot, _bit);
    }

    public readonly void OnTimeout(long sequence)
    {
    }

    public readonly void OnShutdown() => _state.Dispose();

    [SkipLocalsInit]
    private readonly bool Admit(ref EventSlot slot, long sequence)
    {
        ThrottleState s = _state;
        s.Advance(slot.IngestNanos);
        if (_key is not { } key)
        {
            return s.AdmitGlobal();
        }

        var view = _ring.View(ref slot, sequence);
        ReadOnlySpan<byte> payload = view.Payload;
        ulong hash;
        if (key.TryLocate(in view, out int offset, out int length, out bool escaped))
        {
            Span<byte> scratch = stackalloc byte[FieldSelector.ScratchBytes];
            hash = StableHash.Hash(FieldSelector.Text(payload, offset, length, escaped, scratch), s.Seed);
        }
        else
        {
            hash = s.MissingKeyHash;
        }

        switch (s.Admit(hash))
        {
            case ThrottleState.Verdict.Pass:
                return true;
            case ThrottleState.Verdict.Overflow:
                TransformCounters.Increment(ref _metrics.Counters.KeysOverflow);
                return true;
            default:
                return false;
        }
    }
}

/// <summary>A throttle's state: touched only by its stage thread.</summary>
internal sealed class ThrottleState : IDisposable
{
    private const long NanosPerSecond = 1_000_000_000;

    private readonly uint _limit;
    private readonly int _maxKeys;
    private readonly long _wallOffset;
    private readonly NativeSlots<ThrottleSlot>? _slots;
    private long _second = long.MinValue;
    private uint _tag;
    private uint _global;

    public ThrottleState(int limit, int maxKeys, long wallOffset)
    {
        _limit = (uint)limit;
        _maxKeys = maxKeys;
        _wallOffset = wallOffset;
        _slots = maxKeys > 0 ? new NativeSlots<ThrottleSlot>(NativeSlots<ThrottleSlot>.CapacityFor(maxKeys)) : null;

        // Per-process seed: keys crafted to collide in the table's low bits cannot be prepared offline.
        Seed = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        MissingKeyHash = NonZero(StableHash.Hash("\0absent"u8, Seed ^ 1));
    }

    public enum Verdict
    {
        Pass,
        Throttle,
        Overflow,
    }

    public ulong Seed { get; }

    /// <summary>The hash standing for "no key field": such events share one budget.</summary>
    public ulong MissingKeyHash { get; }

    public int Keys { get; private set; }

    /// <summary>Moves to the second of an event that arrived at <paramref name="ingestNanos"/> (never backwards).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Advance(long ingestNanos)
    {
        long wall = ingestNanos + _wallOffset;
        long second = wall >= 0 ? wall / NanosPerSecond : ((wall + 1) / NanosPerSecond) - 1;
        if (second > _second)
        {
            _second = second;
            // Slots tagged with another second are empty: the table is cleared by changing the tag.
            // Tag 0 is never used, so mapped-but-untouched (zero) memory reads as empty.
            _tag = (uint)second == uint.MaxValue ? 1 : (uint)second + 1;
            Keys = 0;
            _global = 0;
        }
    }

    public bool AdmitGlobal()
    {
        if (_global >= _limit)
        {
            return false;
        }

        _global++;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Verdict Admit(ulong hash)
    {
        NativeSlots<ThrottleSlot> slots = _slots!;
        hash = NonZero(hash);
        int i = (int)hash & slots.Mask;
        while (true)
        {
            ref ThrottleSlot slot = ref slots[i];
            if (slot.Tag != _tag)
            {
                // Not counted this second: the key is new (chains hold only this second's keys,
                // since nothing is ever removed within a second).
                if (Keys >= _maxKeys)
                {
                    return Verdict.Overflow;
                }

                Keys++;
                slot.Hash = hash;
                slot.Tag = _tag;
                slot.Count = 0;
                return Count(ref slot);
            }

            if (slot.Hash == hash)
            {
                return Count(ref slot);
            }

            i = (i + 1) & slots.Mask;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Verdict Count(ref ThrottleSlot slot)
    {
        if (slot.Count >= _limit)
        {
            return Verdict.Throttle;
        }

        slot.Count++;
        return Verdict.Pass;
    }

    private static ulong NonZero(ulong hash) => hash == 0 ? 1 : hash;

    public void Dispose() => _slots?.Dispose();
}

/// <summary>One key's count in one second: 16 bytes, four to a cache line.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct ThrottleSlot
{
    [FieldOffset(0)] public ulong Hash;
    /// <summary>The second (+1) this count is for; any other value means the slot is empty now.</summary>
    [FieldOffset(8)] public uint Tag;
    [FieldOffset(12)] public uint Count;
}
