using System.Numerics;
using System.Runtime.CompilerServices;
using EventDaemon.Ring.Internal;

namespace EventDaemon.Ring.Memory;

/// <summary>
/// A power-of-two array of unmanaged slots in one <see cref="NativeRegion"/>, indexed by sequence.
/// </summary>
/// <remarks>
/// Slot access is a mask and an add: no bounds check, no pinning, no GC visibility. Slots are
/// reused forever; what a slot holds between a producer's publish and the last consumer's pass is
/// governed by the sequencer, not by this type.
/// </remarks>
public sealed unsafe class RingBuffer<T> : IDisposable where T : unmanaged
{
    private readonly NativeRegion _region;
    private readonly T* _slots;
    private readonly long _mask;

    public RingBuffer(int capacity, bool lockMemory = false)
    {
        if (capacity < 1 || !BitOperations.IsPow2(capacity))
        {
            ThrowHelper.ArgumentOutOfRange(nameof(capacity), $"ring capacity must be a power of two, got {capacity}");
        }

        Capacity = capacity;
        _mask = capacity - 1;
        _region = NativeRegion.Allocate((long)capacity * sizeof(T), lockMemory);
        _slots = (T*)Unsafe.AsPointer(ref _region.At<T>(0));
    }

    public int Capacity { get; }

    /// <summary>The memory behind the slots: lock state and warnings for the operator.</summary>
    public NativeRegion Region => _region;

    /// <summary>The slot that <paramref name="sequence"/> maps to.</summary>
    public ref T this[long sequence]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref _slots[sequence & _mask];
    }

    public void Dispose() => _region.Dispose();
}
