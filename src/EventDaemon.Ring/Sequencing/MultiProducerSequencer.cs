using System.Numerics;
using System.Runtime.CompilerServices;

namespace EventDaemon.Ring.Sequencing;

/// <summary>
/// A sequencer any number of threads may claim from at once. <see cref="Next(int)"/> claims with
/// one fetch-and-add on the cursor, wait-free (no retry loop however many producers race), and then
/// waits for space if the claim laps the slowest consumer; <see cref="TryNext(int, out long)"/>,
/// which must not claim what it cannot have, claims with a compare-and-swap. Publication is tracked
/// per slot in an availability array that records the lap each slot was last published in, so
/// consumers see exactly the contiguous published prefix.
/// </summary>
public sealed class MultiProducerSequencer : Sequencer
{
    private readonly int[] _available;
    private readonly int _indexMask;
    private readonly int _indexShift;

    // Shared by producers, written rarely (only when the cached value is stale): its own lines.
    private readonly Sequence _cachedGating = new();

    public MultiProducerSequencer(int bufferSize, bool notifyOnPublish)
        : base(bufferSize, notifyOnPublish)
    {
        _available = GC.AllocateArray<int>(bufferSize, pinned: true);
        _indexMask = bufferSize - 1;
        _indexShift = BitOperations.Log2((uint)bufferSize);
        // -1 = "never published": lap 0 of slot i is sequence i, so the initial flag must differ.
        _available.AsSpan().Fill(-1);
    }

    protected override long ClaimedCursor => Cursor.Value;

    /// <summary>Claims the next slot; through this sealed type the call is direct and inlinable.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public new long Next() => Next(1);

    public override long Next(int n)
    {
        ValidateClaim(n);
        // The claim is taken here and is this producer's whatever happens next: wait-free.
        long next = Cursor.AddAndGet(n);
        long current = next - n;
        long wrapPoint = next - BufferSize;
        long cached = _cachedGating.Value;
        if (wrapPoint > cached || cached > current)
        {
            WaitUntilFree(wrapPoint, current);
        }

        return next;
    }

    /// <summary>The claim laps what the cached gating minimum allows: wait until the slowest
    /// consumer has passed <paramref name="wrapPoint"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WaitUntilFree(long wrapPoint, long current)
    {
        long minimum;
        int attempt = 0;
        while (wrapPoint > (minimum = MinimumGating(current)))
        {
            WaitForSpace(ref attempt, wrapPoint);
        }

        _cachedGating.SetValue(minimum);
    }

    public override bool TryNext(int n, out long highest)
    {
        ValidateClaim(n);
        while (true)
        {
            long current = Cursor.Value;
            long next = current + n;
            long wrapPoint = next - BufferSize;
            long cached = _cachedGating.Value;
            if (wrapPoint > cached || cached > current)
            {
                long minimum = MinimumGating(current);
                _cachedGating.SetValue(minimum);
                if (wrapPoint > minimum)
                {
                    highest = 0;
                    return false;
                }
            }

            if (Cursor.CompareAndSet(current, next))
            {
                highest = next;
                return true;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override void Publish(long sequence)
    {
        SetAvailable(sequence);
        NotifyConsumers();
    }

    protected override void MarkPublished(long sequence) => SetAvailable(sequence);

    public override void Publish(long low, long high)
    {
        for (long s = low; s <= high; s++)
        {
            SetAvailable(s);
        }

        NotifyConsumers();
    }

    /// <remarks>Acquire read of the slot's flag: a consumer that sees it sees the slot's contents.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override bool IsAvailable(long sequence) =>
        Volatile.Read(ref _available[(int)sequence & _indexMask]) == (int)(sequence >> _indexShift);

    /// <summary>True while <paramref name="sequence"/> is claimed but not yet published: its slot
    /// still holds an earlier lap. False once published, and also once a later lap has been
    /// published there (the caller asked about a sequence long consumed).</summary>
    /// <remarks>Acquire read of the slot's flag.</remarks>
    internal bool IsPending(long sequence) =>
        Volatile.Read(ref _available[(int)sequence & _indexMask]) < (int)(sequence >> _indexShift);

    public override long HighestPublished(long low, long available)
    {
        for (long s = low; s <= available; s++)
        {
            if (!IsAvailable(s))
            {
                return s - 1;
            }
        }

        return available;
    }

    /// <remarks>Release store: the slot's contents are visible before its flag.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetAvailable(long sequence) =>
        Volatile.Write(ref _available[(int)sequence & _indexMask], (int)(sequence >> _indexShift));
}
