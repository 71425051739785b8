using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EventDaemon.Ring.Memory;

namespace EventDaemon.Stages.Aggregation;

/// <summary>
/// Fixed-size blocks of native memory for the group table (spilled keys, value lists, sketches):
/// a bounded number of them, handed out from a free list first, then from the untouched end of
/// the mapping. Pages are committed on first touch only, so resident memory follows the most
/// blocks ever held at once, never beyond <see cref="Capacity"/>.
/// </summary>
/// <remarks>
/// Single-threaded, like its table. A free block's first 4 bytes link the free list;
/// <see cref="Take"/> zeroes them again, so a block that was returned all zero comes back all zero
/// (the sketch pool relies on this).
/// </remarks>
internal sealed class BlockPool : IDisposable
{
    private const int None = -1;

    private readonly NativeRegion _region;
    private readonly int _blockBytes;
    private int _freeHead = None;
    private int _touched;

    public BlockPool(int capacity, int blockBytes)
    {
        Capacity = capacity;
        _blockBytes = blockBytes;
        _region = NativeRegion.Allocate((long)capacity * blockBytes, lockMemory: false, prefault: false);
    }

    public int Capacity { get; }

    /// <summary>Blocks held now.</summary>
    public int InUse { get; private set; }

    /// <summary>Bytes of the blocks held now.</summary>
    public long BytesInUse => (long)InUse * _blockBytes;

    /// <summary>Bytes of every block ever handed out (the most held at once): what the pool made resident.</summary>
    public long BytesTouched => (long)_touched * _blockBytes;

    /// <summary>A block, or -1 when all <see cref="Capacity"/> are held.</summary>
    public int Take()
    {
        int block = _freeHead;
        if (block != None)
        {
            ref int link = ref Link(block);
            _freeHead = link;
            link = 0;
        }
        else if (_touched < Capacity)
        {
            block = _touched++;
        }
        else
        {
            return None;
        }

        InUse++;
        return block;
    }

    public void Return(int block)
    {
        Link(block) = _freeHead;
        _freeHead = block;
        InUse--;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> Bytes(int block) => _region.Slice((long)block * _blockBytes, _blockBytes);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<T> Items<T>(int block) where T : unmanaged =>
        MemoryMarshal.CreateSpan(ref _region.At<T>((long)block * _blockBytes), _blockBytes / Unsafe.SizeOf<T>());

    private ref int Link(int block) => ref _region.At<int>((long)block * _blockBytes);

    public void Dispose() => _region.Dispose();
}
