using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using EventDaemon.Events.Fields;
using EventDaemon.Ring.Memory;

namespace EventDaemon.Stages.Aggregation;

/// <summary>
/// The groups of an aggregate's open windows, in native memory bounded by max_groups.
/// </summary>
/// <remarks>
/// <para>Single-threaded: owned by the aggregate's stage thread.</para>
/// <para>
/// Memory follows what the groups hold. Each group is one fixed entry (<see cref="GroupHeader"/>,
/// its key inline when it fits in <see cref="InlineKeyBytes"/>, and with quantiles its first
/// <see cref="InlineValues"/> values); a longer key, a values list of up to
/// <see cref="BlockValues"/> and a 2 KiB sketch are blocks taken from bounded pools only when a
/// group needs them. Quantiles of at most <see cref="BlockValues"/> values are exact.
/// </para>
/// <para>
/// The index is open addressing with linear probing over 8-byte slots (a 32-bit tag and the
/// entry), so a probe reads the index alone until a tag matches; it starts small and doubles
/// (load ≤ ½), so the index that probes touch grows with the groups present, up to twice
/// max_groups. Deletion shifts the cluster back instead of leaving tombstones.
/// Every region is mapped once at its bound and committed page by page on first touch: never an
/// allocation after construction, never more than max_groups' worth.
/// </para>
/// </remarks>
public sealed class GroupTable : IDisposable
{
    /// <summary>Keys up to this long live in the entry: two group-by values of 13 bytes with their 3-byte prefixes, or one of 29.</summary>
    public const int InlineKeyBytes = 32;

    /// <summary>Values a quantile group keeps in its entry (32 bytes: the entry stays two cache lines).</summary>
    public const int InlineValues = 4;

    /// <summary>
    /// Values a quantile group keeps exactly, in a 256-byte block, before it moves to a 2 KiB sketch:
    /// a group of a few dozen values costs an eighth of a sketch and its quantiles are exact.
    /// </summary>
    public const int BlockValues = 32;

    private const int KeyOffset = 16;
    private const int HeaderBytes = 96;
    private const int QuantileOffset = HeaderBytes;
    private const int QuantileBytes = InlineValues * sizeof(double);

    /// <summary>The index starts here (8 KiB): a handful of groups touch one page of it.</summary>
    private const int InitialCapacity = 1024;

    private readonly NativeRegion _entries;
    private readonly NativeRegion[] _indexes;
    private readonly int[] _indexTouched;
    private readonly BlockPool _longKeys;
    private readonly BlockPool? _valueBlocks;
    private readonly BlockPool? _sketches;
    private readonly int _stride;
    private readonly int _maxCapacity;
    private int _current;
    private int _mask;
    private int _freeHead = -1;
    private int _entriesTouched;

    public GroupTable(int maxGroups, bool withSketch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxGroups, 1);
        MaxGroups = maxGroups;
        WithQuantiles = withSketch;
        _stride = HeaderBytes + (withSketch ? QuantileBytes : 0);
        _entries = NativeRegion.Allocate((long)maxGroups * _stride, lockMemory: false, prefault: false);
        _maxCapacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, maxGroups * 2L));
        int capacity = Math.Min(InitialCapacity, _maxCapacity);
        _mask = capacity - 1;
        _indexes =
        [
            NativeRegion.Allocate((long)_maxCapacity * IndexSlot.Size, lockMemory: false, prefault: false),
            NativeRegion.Allocate((long)_maxCapacity * IndexSlot.Size, lockMemory: false, prefault: false),
        ];
        _indexTouched = [capacity, 0];
        _longKeys = new BlockPool(maxGroups, AggregateSpec.MaxKeyBytes);
        if (withSketch)
        {
            _valueBlocks = new BlockPool(maxGroups, BlockValues * sizeof(double));
            _sketches = new BlockPool(maxGroups, QuantileSketch.Bins * sizeof(uint));
        }
    }

    public int MaxGroups { get; }

    /// <summary>Whether groups keep their values for quantiles.</summary>
    public bool WithQuantiles { get; }

    /// <summary>Groups alive now.</summary>
    public int Count { get; private set; }

    /// <summary>The most groups alive at once so far (entries ever used).</summary>
    public int PeakGroups => _entriesTouched;

    /// <summary>Slots of the index now (a power of two, at least twice <see cref="Count"/>).</summary>
    public int IndexCapacity => _mask + 1;

    /// <summary>Times <see cref="RebuildIndex"/> ran: windows whose groups left in bulk.</summary>
    public int IndexRebuilds { get; private set; }

    /// <summary>Bytes of one group's entry: what every group costs before any block.</summary>
    public int EntryBytes => _stride;

    /// <summary>
    /// Native bytes the groups alive now hold: their entries, spilled keys, value and sketch
    /// blocks, and the index at its current size.
    /// </summary>
    public long BytesInUse =>
        ((long)Count * _stride) + _longKeys.BytesInUse + (_valueBlocks?.BytesInUse ?? 0) + (_sketches?.BytesInUse ?? 0)
        + ((long)IndexCapacity * IndexSlot.Size);

    /// <summary>
    /// Native bytes written since the table was made (high-water marks of the entries, the pools
    /// and both index arrays): what it made resident, to page granularity. Bounded by max_groups.
    /// </summary>
    public long BytesTouched =>
        ((long)_entriesTouched * _stride) + _longKeys.BytesTouched + (_valueBlocks?.BytesTouched ?? 0) + (_sketches?.BytesTouched ?? 0)
        + (((long)_indexTouched[0] + _indexTouched[1]) * IndexSlot.Size);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref GroupHeader Header(int entry) => ref _entries.At<GroupHeader>((long)entry * _stride);

    /// <summary>The group's key bytes (inline or spilled).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> Key(int entry)
    {
        ref GroupHeader h = ref Header(entry);
        return h.LongKey >= 0
            ? _longKeys.Bytes(h.LongKey)[..h.KeyLength]
            : _entries.Slice(((long)entry * _stride) + KeyOffset, h.KeyLength);
    }

    /// <summary>
    /// The hash of a group key: a pure function of its bytes (not of the window, which the table
    /// mixes in itself), so it can be computed before the window is known, on another thread. The
    /// same function the reader threads use (<see cref="GroupKey.Hash"/>), so a key hashed there
    /// and one hashed here find the same group.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong HashKey(ReadOnlySpan<byte> key) => GroupKey.Hash(key);

    /// <summary>The entry of (<paramref name="window"/>, <paramref name="key"/>), created if absent.</summary>
    /// <returns>the entry, or -1 when the table is full (max_groups) or the key longer than <see cref="AggregateSpec.MaxKeyBytes"/>.</returns>
    public int FindOrAdd(long window, ReadOnlySpan<byte> key, out bool added) => FindOrAdd(window, key, HashKey(key), out added);

    /// <summary>As <see cref="FindOrAdd(long, ReadOnlySpan{byte}, out bool)"/>, with the key's <see cref="HashKey"/> computed by the caller.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int FindOrAdd(long window, ReadOnlySpan<byte> key, ulong keyHash, out bool added)
    {
        uint tag = Tag(window, keyHash);
        ref IndexSlot slots = ref _indexes[_current].At<IndexSlot>(0);
        int mask = _mask;
        int slot = (int)(tag & (uint)mask);
        while (true)
        {
            IndexSlot s = Unsafe.Add(ref slots, slot);
            if (s.EntryPlusOne == 0)
            {
                break;
            }

            if (s.Tag == tag && Matches(s.EntryPlusOne - 1, window, key))
            {
                added = false;
                return s.EntryPlusOne - 1;
            }

            slot = (slot + 1) & mask;
        }

        return Add(window, key, tag, slot, out added);
    }

    // Prefetch, in three steps a few events apart: an event's fold reads an index slot, then the
    // entry it names, then (with quantiles) one sketch counter: three dependent cache misses
    // when the groups outgrow the cache (15,000 groups with sketches is about 30 MB). The
    // aggregate asks for each step ahead of the event that needs it, so the misses of several
    // events overlap instead of stalling one after another. Each step only reads what the one
    // before brought in; none writes, and a hint for a key that is not there (yet) costs a probe.

    /// <summary>Step 1: the index slot where (<paramref name="window"/>, key) starts its probe.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PrefetchIndex(long window, ulong keyHash)
    {
        uint tag = Tag(window, keyHash);
        Prefetch(ref _indexes[_current].At<byte>((long)(tag & (uint)_mask) * IndexSlot.Size));
    }

    /// <summary>Step 2: the entry of (<paramref name="window"/>, key), when its home index slot names it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PrefetchEntry(long window, ulong keyHash)
    {
        int entry = HomeEntry(window, keyHash);
        if (entry >= 0)
        {
            ref byte first = ref _entries.At<byte>((long)entry * _stride);
            Prefetch(ref first);
            Prefetch(ref Unsafe.Add(ref first, _stride - 1));
        }
    }

    /// <summary>Step 3: the sketch counter <paramref name="value"/> will increment, when the group has a sketch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PrefetchSketch(long window, ulong keyHash, double value)
    {
        int entry = HomeEntry(window, keyHash);
        if (entry >= 0 && WithQuantiles)
        {
            ref GroupHeader h = ref Header(entry);
            if (h.WindowStart == window && h.Valued > BlockValues)
            {
                int bin = Math.Clamp(QuantileSketch.Key(value) - SketchLow(entry), 0, QuantileSketch.Bins - 1);
                Prefetch(ref Unsafe.As<uint, byte>(ref _sketches!.Items<uint>(h.Block)[bin]));
            }
        }
    }

    /// <summary>The entry in (<paramref name="window"/>, key)'s home index slot if its tag matches, else -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int HomeEntry(long window, ulong keyHash)
    {
        uint tag = Tag(window, keyHash);
        IndexSlot s = _indexes[_current].At<IndexSlot>((long)(tag & (uint)_mask) * IndexSlot.Size);
        return s.Tag == tag ? s.EntryPlusOne - 1 : -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Prefetch(ref byte at)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref at));
        }
    }

    /// <summary>
    /// Adds a value to the quantile state of a group whose <see cref="GroupHeader.Valued"/> already
    /// counts it: kept inline, then in a values block, then (past <see cref="BlockValues"/>) in a sketch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AddQuantileValue(int entry, double value)
    {
        ref GroupHeader h = ref Header(entry);
        int n = h.Valued;
        if (n <= InlineValues)
        {
            InlineValueSpan(entry)[n - 1] = value;
        }
        else if (n <= BlockValues)
        {
            if (n == InlineValues + 1)
            {
                MoveToBlock(entry, ref h);
            }

            _valueBlocks!.Items<double>(h.Block)[n - 1] = value;
        }
        else
        {
            AddToSketch(entry, ref h, value);
        }
    }

    /// <summary>
    /// The quantiles of a group with values: exact (its values sorted into <paramref name="scratch"/>,
    /// at least <see cref="BlockValues"/> long) or from its sketch.
    /// </summary>
    public GroupQuantiles Quantiles(int entry, Span<double> scratch)
    {
        ref GroupHeader h = ref Header(entry);
        int n = h.Valued;
        if (n > BlockValues)
        {
            return new GroupQuantiles(_sketches!.Items<uint>(h.Block), SketchLow(entry), SketchHigh(entry), n, h.Min, h.Max);
        }

        ReadOnlySpan<double> values = n <= InlineValues ? InlineValueSpan(entry)[..n] : _valueBlocks!.Items<double>(h.Block)[..n];
        Span<double> sorted = scratch[..n];
        values.CopyTo(sorted);
        InsertionSort(sorted);
        return new GroupQuantiles(sorted);
    }

    /// <summary>Removes an entry (after its window was emitted) and frees it and its blocks for reuse.</summary>
    public void Remove(int entry)
    {
        ref GroupHeader h = ref Header(entry);
        ReleaseBlocks(entry, ref h);
        if (h.LongKey >= 0)
        {
            _longKeys.Return(h.LongKey);
        }

        ref IndexSlot slots = ref _indexes[_current].At<IndexSlot>(0);
        int mask = _mask;
        int hole = (int)(h.Tag & (uint)mask);
        while (Unsafe.Add(ref slots, hole).EntryPlusOne != entry + 1)
        {
            hole = (hole + 1) & mask;
        }

        // Backward shift: move later members of the cluster into the hole when their home slot
        // allows, so that no tombstone lengthens later probes.
        int next = hole;
        while (true)
        {
            next = (next + 1) & mask;
            IndexSlot s = Unsafe.Add(ref slots, next);
            if (s.EntryPlusOne == 0)
            {
                break;
            }

            int home = (int)(s.Tag & (uint)mask);
            bool homeInGap = hole <= next ? hole < home && home <= next : hole < home || home <= next;
            if (!homeInGap)
            {
                Unsafe.Add(ref slots, hole) = s;
                hole = next;
            }
        }

        Unsafe.Add(ref slots, hole) = default;
        h.NextInWindow = _freeHead;
        _freeHead = entry;
        Count--;
    }

    /// <summary>
    /// Whether removing <paramref name="groups"/> groups at once is cheaper through
    /// <see cref="Release"/> and <see cref="RebuildIndex"/> than one <see cref="Remove"/> each: when
    /// they are most of the table (a window closing while the next has barely begun), clearing
    /// the index in one sequential pass and putting back the few that stay beats a random probe
    /// and shift per group (at a million groups, a cache miss each).
    /// </summary>
    public bool RemovesInBulk(int groups) => groups >= 1024 && groups * 2L >= Count;

    /// <summary>
    /// Frees an entry and its blocks like <see cref="Remove"/> but leaves the index as it is: it
    /// still names the entry until <see cref="RebuildIndex"/>, which must come before any other
    /// call that reads the index.
    /// </summary>
    public void Release(int entry)
    {
        ref GroupHeader h = ref Header(entry);
        ReleaseBlocks(entry, ref h);
        if (h.LongKey >= 0)
        {
            _longKeys.Return(h.LongKey);
        }

        h.NextInWindow = _freeHead;
        _freeHead = entry;
        Count--;
    }

    /// <summary>
    /// Rebuilds the index after <see cref="Release"/>: cleared, then every group still alive put
    /// back. <paramref name="heads"/> are the first entries of lists linked by
    /// <see cref="GroupHeader.NextInWindow"/> (the open windows' groups) that together hold every
    /// group alive, each once.
    /// </summary>
    public void RebuildIndex(ReadOnlySpan<int> heads)
    {
        ref IndexSlot slots = ref _indexes[_current].At<IndexSlot>(0);
        int mask = _mask;
        MemoryMarshal.CreateSpan(ref slots, mask + 1).Clear();
        int alive = 0;
        foreach (int head in heads)
        {
            for (int entry = head; entry >= 0; entry = Header(entry).NextInWindow)
            {
                uint tag = Header(entry).Tag;
                int slot = (int)(tag & (uint)mask);
                while (Unsafe.Add(ref slots, slot).EntryPlusOne != 0)
                {
                    slot = (slot + 1) & mask;
                }

                Unsafe.Add(ref slots, slot) = new IndexSlot { Tag = tag, EntryPlusOne = entry + 1 };
                alive++;
            }
        }

        Debug.Assert(alive == Count, "the lists hold every group alive");
        IndexRebuilds++;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int Add(long window, ReadOnlySpan<byte> key, uint tag, int slot, out bool added)
    {
        added = false;
        if (key.Length > AggregateSpec.MaxKeyBytes)
        {
            return -1;
        }

        int entry;
        if (_freeHead >= 0)
        {
            entry = _freeHead;
            _freeHead = Header(entry).NextInWindow;
            if (_freeHead >= 0)
            {
                // The next new group's entry: its link is read and its header written then.
                Prefetch(ref _entries.At<byte>((long)_freeHead * _stride));
            }
        }
        else if (_entriesTouched < MaxGroups)
        {
            entry = _entriesTouched++;
        }
        else
        {
            return -1;
        }

        ref GroupHeader h = ref Header(entry);
        h = default;
        h.WindowStart = window;
        h.Tag = tag;
        h.KeyLength = (ushort)key.Length;
        h.NextInWindow = -1;
        h.Block = -1;
        h.LongKey = -1;
        if (key.Length > InlineKeyBytes)
        {
            // Never fails: the pool has a block for every group.
            h.LongKey = _longKeys.Take();
            Debug.Assert(h.LongKey >= 0, "a long-key block for every group");
            key.CopyTo(_longKeys.Bytes(h.LongKey));
        }
        else
        {
            key.CopyTo(_entries.Slice(((long)entry * _stride) + KeyOffset, key.Length));
        }

        _indexes[_current].At<IndexSlot>((long)slot * IndexSlot.Size) = new IndexSlot { Tag = tag, EntryPlusOne = entry + 1 };
        Count++;
        if (Count > IndexCapacity / 2)
        {
            Grow();
        }

        added = true;
        return entry;
    }

    /// <summary>Doubles the index into the other array (cleared first), then swaps the two.</summary>
    private void Grow()
    {
        int capacity = IndexCapacity * 2;
        Debug.Assert(capacity <= _maxCapacity, "max_groups bounds the load to ½ of the largest index");
        int mask = capacity - 1;
        int target = 1 - _current;
        Span<IndexSlot> to = MemoryMarshal.CreateSpan(ref _indexes[target].At<IndexSlot>(0), capacity);
        to.Clear();
        _indexTouched[target] = Math.Max(_indexTouched[target], capacity);
        foreach (IndexSlot s in MemoryMarshal.CreateReadOnlySpan(ref _indexes[_current].At<IndexSlot>(0), IndexCapacity))
        {
            if (s.EntryPlusOne != 0)
            {
                int slot = (int)(s.Tag & (uint)mask);
                while (to[slot].EntryPlusOne != 0)
                {
                    slot = (slot + 1) & mask;
                }

                to[slot] = s;
            }
        }

        _current = target;
        _mask = mask;
    }

    private bool Matches(int entry, long window, ReadOnlySpan<byte> key)
    {
        ref GroupHeader h = ref Header(entry);
        return h.WindowStart == window && h.KeyLength == key.Length && Key(entry).SequenceEqual(key);
    }

    private Span<double> InlineValueSpan(int entry) =>
        MemoryMarshal.CreateSpan(ref _entries.At<double>(((long)entry * _stride) + QuantileOffset), InlineValues);

    /// <summary>Once a group has a sketch, its inline value space holds the sketch's lowest key (bins[0]) and highest key seen.</summary>
    private ref int SketchLow(int entry) => ref _entries.At<int>(((long)entry * _stride) + QuantileOffset);

    private ref int SketchHigh(int entry) => ref _entries.At<int>(((long)entry * _stride) + QuantileOffset + sizeof(int));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void MoveToBlock(int entry, ref GroupHeader h)
    {
        // Never fails: the pool has a block for every group.
        h.Block = _valueBlocks!.Take();
        Debug.Assert(h.Block >= 0, "a values block for every group");
        InlineValueSpan(entry).CopyTo(_valueBlocks.Items<double>(h.Block));
    }

    private void AddToSketch(int entry, ref GroupHeader h, double value)
    {
        if (h.Valued == BlockValues + 1)
        {
            MoveToSketch(entry, ref h);
        }

        AddToBins(_sketches!.Items<uint>(h.Block), ref SketchLow(entry), ref SketchHigh(entry), value, first: false);
    }

    /// <summary>The group outgrew its values block: its values go into a sketch, in arrival order.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void MoveToSketch(int entry, ref GroupHeader h)
    {
        int values = h.Block;
        int sketch = _sketches!.Take();
        Debug.Assert(sketch >= 0, "a sketch for every group");
        Span<uint> bins = _sketches.Items<uint>(sketch);
        ref int low = ref SketchLow(entry);
        ref int high = ref SketchHigh(entry);
        bool first = true;
        foreach (double v in _valueBlocks!.Items<double>(values))
        {
            AddToBins(bins, ref low, ref high, v, first);
            first = false;
        }

        _valueBlocks.Return(values);
        h.Block = sketch;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddToBins(Span<uint> bins, ref int low, ref int high, double value, bool first)
    {
        int key = QuantileSketch.Key(value);
        high = first ? key : Math.Max(high, key);
        QuantileSketch.Add(bins, ref low, key, high, first);
    }

    private void ReleaseBlocks(int entry, ref GroupHeader h)
    {
        if (!WithQuantiles)
        {
            return;
        }

        if (h.Valued > BlockValues)
        {
            // Zero what the group used (a few counters, not 2 KiB) so the next taker finds the bins as new.
            Span<uint> bins = _sketches!.Items<uint>(h.Block);
            QuantileSketch.Release(bins, SketchLow(entry), QuantileSketch.Key(h.Min), SketchHigh(entry));
            _sketches.Return(h.Block);
        }
        else if (h.Valued > InlineValues)
        {
            _valueBlocks!.Return(h.Block);
        }
    }

    private static void InsertionSort(Span<double> values)
    {
        for (int i = 1; i < values.Length; i++)
        {
            double v = values[i];
            int j = i - 1;
            while (j >= 0 && values[j] > v)
            {
                values[j + 1] = values[j];
                j--;
            }

            values[j + 1] = v;
        }
    }

    /// <summary>The index tag of a group: its key's hash with the window mixed in (murmur3's finaliser), 32 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Tag(long window, ulong keyHash) => (uint)Finish(keyHash ^ ((ulong)window * 0x9E3779B97F4A7C15));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Finish(ulong x) => GroupKey.Avalanche(x);

    public void Dispose()
    {
        _entries.Dispose();
        _indexes[0].Dispose();
        _indexes[1].Dispose();
        _longKeys.Dispose();
        _valueBlocks?.Dispose();
        _sketches?.Dispose();
    }
}

/// <summary>One slot of the index: the group's tag (compared before the entry is read) and its entry + 1 (0: empty).</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct IndexSlot
{
    public const int Size = 8;

    [FieldOffset(0)] public uint Tag;
    [FieldOffset(4)] public int EntryPlusOne;
}

/// <summary>
/// One group's fixed state: 96 bytes, with the key inline at 16..48. The first cache line holds
/// what a probe compares (window, tag, key length, key) and what every event updates (count, sum);
/// the second the rest. A quantile group's entry goes on with 32 bytes of inline values.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 96)]
public struct GroupHeader
{
    [FieldOffset(0)] public long WindowStart;

    /// <summary>The index tag: the key hash with the window mixed in.</summary>
    [FieldOffset(8)] public uint Tag;

    [FieldOffset(12)] public ushort KeyLength;

    // padding: 14..16, then the inline key bytes 16..48 (GroupTable.InlineKeyBytes), read through GroupTable.Key.
    [FieldOffset(48)] public long Count;
    [FieldOffset(56)] public double Sum;
    [FieldOffset(64)] public double Min;
    [FieldOffset(72)] public double Max;

    /// <summary>Events that carried a value (sum, min, max, mean and quantiles are over these).</summary>
    [FieldOffset(80)] public int Valued;

    /// <summary>The next group of the same window (emission order); the free list's link once freed.</summary>
    [FieldOffset(84)] public int NextInWindow;

    /// <summary>The long-key block holding a key longer than the inline space, else -1.</summary>
    [FieldOffset(88)] public int LongKey;

    /// <summary>The values block (Valued 5..32) or the sketch (Valued &gt; 32) of a quantile group, else -1.</summary>
    [FieldOffset(92)] public int Block;
}
