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
/// The <c>dedupe</c> transform: drops an event whose field value was let through less than
/// <c>window</c> ago, marking it with its bit in <see cref="EventSlot.Marks"/> (like a filter) and
/// counting it in <c>events_dropped_total{reason="duplicate"}</c>.
/// </summary>
/// <remarks>
/// <para>Time is each event's arrival (<see cref="EventSlot.IngestNanos"/>). The window runs from the
/// last time a value was <em>let through</em>, not from its last repeat: a value repeated without
/// pause passes once per window (a repeat never extends its own suppression, so a stuck alert
/// still shows once per window). Events without the field (absent or <c>null</c>) always pass and
/// are not remembered. Values are compared by their text (<see cref="FieldSelector"/>).</para>
/// <para>Memory is bounded: remembered values are 64-bit hashes with their time, in an
/// open-addressing table in unmanaged memory for <c>max_keys</c> values. (A hash collision, odds
/// about n/2⁶⁴ per event, would drop a distinct value as a repeat.) Expired entries are reused in
/// place; when the table holds <c>max_keys</c> entries it is swept: expired ones go, and if more
/// than three quarters of <c>max_keys</c> are still within their window, the oldest are
/// forgotten (to a 1/64-window granularity) until three quarters remain. Forgotten values are
/// counted in <c>dedupe_evictions_total</c>: a repeat of one of them passes, so the counter says
/// when <c>max_keys</c> is too small for the traffic.</para>
/// </remarks>
public struct DedupeHandler : IEventHandler<EventSlot>
{
    private readonly EventReader _ring;
    private readonly Partition _partition;
    private readonly FieldSelector _field;
    private readonly Reach _reach;
    private readonly ulong _bit;
    private readonly StageMetrics _metrics;
    private readonly DedupeTable _table;

    public DedupeHandler(EventReader ring, FieldSelector field, long windowNanos, int maxKeys, Reach reach, int markBit, StageMetrics metrics, Partition partition = default)
    {
        ArgumentNullException.ThrowIfNull(field);
        ArgumentOutOfRangeException.ThrowIfLessThan(windowNanos, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxKeys, 1);
        _ring = ring;
        _partition = partition.In(ring.Catalog);
        _field = field.In(ring.Catalog);
        _reach = reach;
        _bit = 1UL << markBit;
        _metrics = metrics;
        _table = new DedupeTable(windowNanos, maxKeys);
    }

    /// <summary>Values remembered now, expired ones included until reused or swept (for tests and stats).</summary>
    public readonly int Remembered => _table.Used;

    public readonly void OnStart()
    {
    }

    public readonly void OnEvent(ref EventSlot slot, long sequence, bool endOfBatch)
    {
        if (_partition.Skips(_ring, ref slot, sequence))
        {
            return; // another thread of this stage takes it
        }

        bool pass = _reach.Delivers(ref slot) && Marking.Counted(Admit(ref slot, sequence), ref slot, sequence, endOfBatch, _metrics, ref _metrics.Counters.Duplicates);
        Marking.MarkUnless(pass, ref slot, _bit);
    }

    public readonly void OnTimeout(long sequence)
    {
    }

    public readonly void OnShutdown() => _table.Dispose();

    [SkipLocalsInit]
    private readonly bool Admit(ref EventSlot slot, long sequence)
    {
        var view = _ring.View(ref slot, sequence);
        ReadOnlySpan<byte> payload = view.Payload;
        if (!_field.TryLocate(in view, out int offset, out int length, out bool escaped))
        {
            return true;
        }

        Span<byte> scratch = stackalloc byte[FieldSelector.ScratchBytes];
        ulong hash = StableHash.Hash(FieldSelector.Text(payload, offset, length, escaped, scratch), _table.Seed);
        bool pass = _table.Admit(hash, slot.IngestNanos, out int evicted);
        if (evicted > 0)
        {
            ref long forgotten = ref _metrics.Counters.Evicted;
            Volatile.Write(ref forgotten, forgotten + evicted);
        }

        return pass;
    }
}

/// <summary>A dedupe's remembered values: touched only by its stage thread.</summary>
internal sealed class DedupeTable : IDisposable
{
    /// <summary>Age classes of the sweep that forgets the oldest values.</summary>
    private const int AgeBins = 64;

    private readonly long _window;
    private readonly int _maxKeys;
    private NativeSlots<DedupeSlot> _slots;
    private NativeSlots<DedupeSlot> _spare;

    public DedupeTable(long windowNanos, int maxKeys)
    {
        _window = windowNanos;
        _maxKeys = maxKeys;
        int capacity = NativeSlots<DedupeSlot>.CapacityFor(maxKeys);
        _slots = new NativeSlots<DedupeSlot>(capacity);
        _spare = new NativeSlots<DedupeSlot>(capacity);

        // Per-process seed: values crafted to collide in the table's low bits cannot be prepared offline.
        Seed = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
    }

    public ulong Seed { get; }

    /// <summary>Occupied slots: live and expired-but-not-yet-reused values.</summary>
    public int Used { get; private set; }

    /// <summary>Whether a value (by hash) seen at <paramref name="now"/> passes; remembers it if so.</summary>
    /// <param name="evicted">Values forgotten early by a sweep this call made room with.</param>
    public bool Admit(ulong hash, long now, out int evicted)
    {
        evicted = 0;
        hash = hash == 0 ? 1 : hash;
        if (TryFind(hash, now, out bool pass))
        {
            return pass;
        }

        if (Used >= _maxKeys)
        {
            evicted = Sweep(now);
        }

        Insert(hash, now);
        return true;
    }

    /// <summary>Looks the value up; when absent, stores it in the first expired slot of its chain if there is one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryFind(ulong hash, long now, out bool pass)
    {
        NativeSlots<DedupeSlot> slots = _slots;
        int reusable = -1;
        int i = (int)hash & slots.Mask;
        while (true)
        {
            ref DedupeSlot slot = ref slots[i];
            if (slot.Hash == 0)
            {
                break;
            }

            bool expired = now - slot.LastPassed >= _window;
            if (slot.Hash == hash)
            {
                // A clock stepping back (events from two sources) reads as "within the window".
                pass = expired;
                if (expired)
                {
                    slot.LastPassed = now;
                }

                return true;
            }

            if (expired && reusable < 0)
            {
                reusable = i;
            }

            i = (i + 1) & slots.Mask;
        }

        if (reusable >= 0)
        {
            ref DedupeSlot slot = ref slots[reusable];
            slot.Hash = hash;
            slot.LastPassed = now;
            pass = true;
            return true;
        }

        pass = false;
        return false;
    }

    private void Insert(ulong hash, long now)
    {
        NativeSlots<DedupeSlot> slots = _slots;
        int i = (int)hash & slots.Mask;
        while (slots[i].Hash != 0)
        {
            i = (i + 1) & slots.Mask;
        }

        slots[i] = new DedupeSlot { Hash = hash, LastPassed = now };
        Used++;
    }

    /// <summary>
    /// Rebuilds the table without expired values and, if more than three quarters of the bound are
    /// still live, without the oldest of them. Returns how many live values were forgotten.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    [SkipLocalsInit]
    private int Sweep(long now)
    {
        NativeSlots<DedupeSlot> slots = _slots;
        int target = Math.Max(1, _maxKeys * 3 / 4);
        ulong binWidth = ((ulong)_window / AgeBins) + 1;
        Span<int> ages = stackalloc int[AgeBins];
        ages.Clear();
        int live = 0;
        for (int i = 0; i < slots.Capacity; i++)
        {
            ref DedupeSlot slot = ref slots[i];
            if (slot.Hash != 0 && now - slot.LastPassed < _window)
            {
                live++;
                ages[AgeBin(now - slot.LastPassed, binWidth)]++;
            }
        }

        // Keep the youngest age classes that fit the target (all of them when everything fits).
        int keepBins = AgeBins;
        if (live > target)
        {
            int kept = 0;
            keepBins = 0;
            while (keepBins < AgeBins && kept + ages[keepBins] <= target)
            {
                kept += ages[keepBins++];
            }
        }

        _spare.Clear();
        int used = 0;
        for (int i = 0; i < slots.Capacity; i++)
        {
            ref DedupeSlot slot = ref slots[i];
            if (slot.Hash != 0 && now - slot.LastPassed < _window && AgeBin(now - slot.LastPassed, binWidth) < keepBins)
            {
                int j = (int)slot.Hash & _spare.Mask;
                while (_spare[j].Hash != 0)
                {
                    j = (j + 1) & _spare.Mask;
                }

                _spare[j] = slot;
                used++;
            }
        }

        (_slots, _spare) = (_spare, _slots);
        Used = used;
        return live - used;
    }

    /// <summary>The age class of a live value; ages below zero (a clock stepping back) are the youngest.</summary>
    private static int AgeBin(long age, ulong binWidth) => age <= 0 ? 0 : (int)Math.Min((ulong)age / binWidth, AgeBins - 1);

    public void Dispose()
    {
        _slots.Dispose();
        _spare.Dispose();
    }
}

/// <summary>One remembered value: its hash (0 = empty slot) and when it last passed.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct DedupeSlot
{
    [FieldOffset(0)] public ulong Hash;
    [FieldOffset(8)] public long LastPassed;
}
