using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EventDaemon.Ring.Memory;

namespace EventDaemon.Stages.Aggregation;

/// <summary>
/// The groups of an aggregate's open windows, in unmanaged memory bounded by max_groups: fixed-size
/// entries (header, key bytes, quantile bins) and an open-addressing index over them. Entries are
/// reused through a free list; the memory is mapped once and its pages are touched only as groups
/// appear, so resident memory follows the number of groups, never beyond the bound.
/// </summary>
/// <remarks>Single-threaded: owned by the aggregate's stage thread.</remarks>
public sealed unsafe class GroupTable : IDisposable
{
    private const uint Empty = 0;
    private const uint Tombstone = uint.MaxValue;

    private readonly NativeRegion _entries;
    private readonly NativeRegion _indexRegion;
    private readonly NativeRegion _spareRegion;
    private uint* _index;
    private uint* _spare;
    private readonly int _indexMask;
    private readonly int _entrySize;
    private readonly int _keyOffset;
    private readonly int _binsOffset;
    private int _freeHead = -1;
    private int _allocated;
    private int _tombstones;

    public GroupTable(int maxGroups, bool withSketch)
    {
        MaxGroups = maxGroups;
        _keyOffset = sizeof(GroupHeader);
        _binsOffset = _keyOffset + AggregateSpec.MaxKeyBytes;
        _entrySize = _binsOffset + (withSketch ? QuantileSketch.Bins * sizeof(uint) : 0);
        _entries = NativeRegion.Allocate((long)maxGroups * _entrySize, lockMemory: false, prefault: false);
        int capacity = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, maxGroups * 2));
        _indexMask = capacity - 1;
        _indexRegion = NativeRegion.Allocate((long)capacity * sizeof(uint), lockMemory: false, prefault: false);
        _spareRegion = NativeRegion.Allocate((long)capacity * sizeof(uint), lockMemory: false, prefault: false);
        _index = (uint*)Unsafe.AsPointer(ref _indexRegion.At<uint>(0));
        _spare = (uint*)Unsafe.AsPointer(ref _spareRegion.At<uint>(0));
    }

    public int MaxGroups { get; }

    /// <summary>Groups alive now.</summary>
    public int Count { get; private set; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref GroupHeader Header(int entry) => ref _entries.At<GroupHeader>((long)entry * _entrySize);

    public Span<byte> Key(int entry) => _entries.Slice((long)entry * _entrySize + _keyOffset, Header(entry).KeyLength);

    public Span<uint> Bins(int entry) =>
        MemoryMarshal.Cast<byte, uint>(_entries.Slice((long)entry * _entrySize + _binsOffset, QuantileSketch.Bins * sizeof(uint)));

    /// <summary>The entry of (<paramref name="window"/>, <paramref name="key"/>), created if absent.</summary>
    /// <returns>the entry, or -1 when the table is full (max_groups).</returns>
    public int FindOrAdd(long window, ReadOnlySpan<byte> key, out bool added)
    {
        uint hash = Hash(window, key);
        int slot = (int)(hash & (uint)_indexMask);
        int firstTombstone = -1;
        while (true)
        {
            uint value = _index[slot];
            if (value == Empty)
            {
                break;
            }

            if (value == Tombstone)
            {
                firstTombstone = firstTombstone < 0 ? slot : firstTombstone;
            }
            else
            {
                int entry = (int)value - 1;
                ref GroupHeader h = ref Header(entry);
                if (h.Hash == hash && h.WindowStart == window && Key(entry).SequenceEqual(key))
                {
                    added = false;
                    return entry;
                }
            }

            slot = (slot + 1) & _indexMask;
        }

        added = true;
        int created = Allocate();
        if (created < 0)
        {
            added = false;
            return -1;
        }

        if (firstTombstone >= 0)
        {
            slot = firstTombstone;
            _tombstones--;
        }

        _index[slot] = (uint)created + 1;
        ref GroupHeader header = ref Header(created);
        header = default;
        header.WindowStart = window;
        header.Hash = hash;
        header.KeyLength = key.Length;
        key.CopyTo(_entries.Slice((long)created * _entrySize + _keyOffset, key.Length));
        Count++;
        return created;
    }

    /// <summary>Removes an entry (after its window was emitted) and frees it for reuse.</summary>
    public void Remove(int entry)
    {
        ref GroupHeader h = ref Header(entry);
        int slot = (int)(h.Hash & (uint)_indexMask);
        while (_index[slot] != (uint)entry + 1)
        {
            slot = (slot + 1) & _indexMask;
        }

        _index[slot] = Tombstone;
        _tombstones++;
        h.NextInWindow = _freeHead;
        _freeHead = entry;
        Count--;
        if (Count == 0)
        {
            // The common case after a window closes: wipe the index instead of keeping tombstones.
            new Span<uint>(_index, _indexMask + 1).Clear();
            _tombstones = 0;
        }
        else if (_tombstones > (_indexMask + 1) / 4)
        {
            Rehash();
        }
    }

    /// <summary>Rebuilds the index without tombstones into the spare index, then swaps the two.</summary>
    private void Rehash()
    {
        new Span<uint>(_spare, _indexMask + 1).Clear();
        for (int i = 0; i <= _indexMask; i++)
        {
            uint value = _index[i];
            if (value != Empty && value != Tombstone)
            {
                int slot = (int)(Header((int)value - 1).Hash & (uint)_indexMask);
                while (_spare[slot] != Empty)
                {
                    slot = (slot + 1) & _indexMask;
                }

                _spare[slot] = value;
            }
        }

        uint* rebuilt = _spare;
        _spare = _index;
        _index = rebuilt;
        _tombstones = 0;
    }

    private int Allocate()
    {
        if (_freeHead >= 0)
        {
            int entry = _freeHead;
            _freeHead = Header(entry).NextInWindow;
            return entry;
        }

        return _allocated < MaxGroups ? _allocated++ : -1;
    }

    private static uint Hash(long window, ReadOnlySpan<byte> key)
    {
        var hash = new HashCode();
        hash.Add(window);
        hash.AddBytes(key);
        return (uint)hash.ToHashCode();
    }

    public void Dispose()
    {
        _entries.Dispose();
        _indexRegion.Dispose();
        _spareRegion.Dispose();
    }
}

/// <summary>One group's state: 64 bytes, followed in its entry by the key bytes and the bins.</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
public struct GroupHeader
{
    [FieldOffset(0)] public long WindowStart;
    [FieldOffset(8)] public uint Hash;
    [FieldOffset(12)] public int NextInWindow;
    [FieldOffset(16)] public long Count;
    [FieldOffset(24)] public double Sum;
    [FieldOffset(32)] public double Min;
    [FieldOffset(40)] public double Max;
    [FieldOffset(48)] public int KeyLength;
    [FieldOffset(52)] public int BinsLow;
    [FieldOffset(56)] public int HighKey;
    /// <summary>Events that carried a value (sum, min, max, mean and quantiles are over these).</summary>
    [FieldOffset(60)] public int Valued;
}
