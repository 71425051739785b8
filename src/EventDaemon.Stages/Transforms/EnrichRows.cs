using System.Numerics;
using System.Runtime.CompilerServices;

namespace EventDaemon.Stages.Transforms;

/// <summary>
/// The table rows one enrich stage matched, one cell per ring slot, indexed by sequence: the
/// stage's own side array, so the row never travels in a slot field another meaning shares, and
/// any number of enrich stages can sit on one ring, over JSON and binary events alike.
/// </summary>
/// <remarks>
/// <para>Written only by the enrich stage (its threads, when split, own disjoint sequences), for every
/// sequence it is responsible for, hit or not: a cell is reused each lap of the ring. Read only by
/// stages after it (sinks), once their barrier has released the sequence: the enrich stage's
/// release store at its batch end orders the write before that read, as for the slot itself.</para>
/// <para>Sized like the ring (4 bytes a slot): a slot is reused only after every stage, sinks
/// included, has passed it, so a cell is never overwritten while someone still reads it.</para>
/// </remarks>
public sealed class EnrichRows
{
    private readonly int[] _cells;
    private readonly long _mask;

    public EnrichRows(int capacity)
    {
        if (capacity < 1 || !BitOperations.IsPow2(capacity))
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "the ring's capacity, a power of two");
        }

        // Each cell holds row + 1, so 0 (a new array) means no row.
        _cells = new int[capacity];
        _mask = capacity - 1;
    }

    public int Capacity => _cells.Length;

    /// <summary>The row matched for the event at <paramref name="sequence"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int RowOf(long sequence) => _cells[sequence & _mask] - 1;

    /// <summary>Enrich stage only: records <paramref name="row"/> (-1 = none) for <paramref name="sequence"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Set(long sequence, int row) => _cells[sequence & _mask] = row + 1;
}
