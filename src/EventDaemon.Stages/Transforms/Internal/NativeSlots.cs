using System.Numerics;
using System.Runtime.CompilerServices;
using EventDaemon.Ring.Memory;

namespace EventDaemon.Stages.Transforms.Internal;

/// <summary>
/// A fixed array of <typeparamref name="T"/> in unmanaged memory: the slots of an open-addressing
/// table keyed by a 64-bit hash, sized once from a key bound (<see cref="CapacityFor"/>), mapped
/// without pre-faulting so resident memory follows the keys actually seen, up to the bound.
/// </summary>
/// <remarks>Single-threaded: owned by one stage thread. All-zero bytes are an empty slot.</remarks>
internal sealed class NativeSlots<T> : IDisposable where T : unmanaged
{
    private readonly NativeRegion _region;

    public NativeSlots(int capacity)
    {
        Capacity = capacity;
        Mask = capacity - 1;
        _region = NativeRegion.Allocate((long)capacity * Unsafe.SizeOf<T>(), lockMemory: false, prefault: false);
    }

    public int Capacity { get; }

    public int Mask { get; }

    public ref T this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref _region.At<T>((long)index * Unsafe.SizeOf<T>());
    }

    /// <summary>Slots for at most <paramref name="maxKeys"/> keys at no more than half load, a power of two.</summary>
    public static int CapacityFor(int maxKeys) => (int)BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(2L * maxKeys, 16, 1 << 30));

    /// <summary>Empties every slot (cold path: touches every page).</summary>
    public void Clear() => _region.Slice(0, checked(Capacity * Unsafe.SizeOf<T>())).Clear();

    public void Dispose() => _region.Dispose();
}
