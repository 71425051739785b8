using System.Numerics;
using System.Runtime.CompilerServices;
using EventDaemon.Ring;
using EventDaemon.Ring.Memory;

namespace EventDaemon.Events.Memory;

/// <summary>
/// The bytes of events in flight: a byte ring in one <see cref="NativeRegion"/>. One writer
/// appends payloads at monotonically increasing positions; space behind the oldest payload a
/// consumer still needs is reused. A payload never wraps: one that would straddle the end starts
/// at the beginning of the next lap instead, so every payload is one contiguous span.
/// </summary>
/// <remarks>
/// The arena does not know which payloads are still needed: its writer tells it, through
/// <see cref="TryReserve"/>'s <c>tail</c> argument (the position of the oldest payload not yet
/// released by every consumer). See <see cref="Ingest.EventRing"/>.
/// </remarks>
public sealed class PayloadArena : IDisposable
{
    private readonly NativeRegion _region;
    private readonly long _mask;

    // Written per payload by the producer; alone on its line, or every write would invalidate the
    // line that consumers read _region and _mask from for every payload they look at.
    private PaddedLong _head;

    public PayloadArena(long capacity, bool lockMemory)
    {
        if (capacity < 4096 || !BitOperations.IsPow2(capacity))
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), $"arena size must be a power of two of at least 4 KiB, got {capacity}");
        }

        Capacity = capacity;
        _mask = capacity - 1;
        _region = NativeRegion.Allocate(capacity, lockMemory);
    }

    public long Capacity { get; }

    /// <summary>Position the next payload would start at (monotonic; never wrapped).</summary>
    /// <remarks>Written by the one writer; other threads read it with acquire semantics for stats.</remarks>
    public long Head => Volatile.Read(ref _head.Value);

    public NativeRegion Region => _region;

    /// <summary>
    /// Reserves <paramref name="length"/> contiguous bytes if they fit between <paramref name="tail"/>
    /// (everything before it is free) and a full lap ahead of it.
    /// </summary>
    /// <returns>false when the arena is full; nothing is reserved then.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryReserve(int length, long tail, out long position)
    {
        long start = _head.Value;
        long offset = start & _mask;
        if (offset + length > Capacity)
        {
            // Skip the tail end of this lap: the payload starts at the next lap's beginning.
            start += Capacity - offset;
        }

        if (start + length - tail > Capacity)
        {
            position = 0;
            return false;
        }

        Volatile.Write(ref _head.Value, start + length);
        position = start;
        return true;
    }

    /// <summary>The bytes at <paramref name="position"/>; valid while the payload is in flight.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> At(long position, int length) => _region.Slice(position & _mask, length);

    /// <summary>Bytes between <paramref name="tail"/> and the head: what is in use.</summary>
    public long Used(long tail) => Math.Max(0, Head - tail);

    public void Dispose() => _region.Dispose();
}
