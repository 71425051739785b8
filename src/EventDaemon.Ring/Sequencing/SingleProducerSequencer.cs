using System.Runtime.CompilerServices;

namespace EventDaemon.Ring.Sequencing;

/// <summary>
/// A sequencer for exactly one producer thread: claiming is a plain add, publishing one release
/// store. Using it from two threads corrupts the ring.
/// </summary>
public sealed class SingleProducerSequencer : Sequencer
{
    // Mutable structs, producer-thread only, padded so that their writes never invalidate the
    // line consumers read this object's header and read-only fields from.
    private PaddedLong _next = new() { Value = Sequence.InitialValue };
    private PaddedLong _cachedGating = new() { Value = Sequence.InitialValue };

    public SingleProducerSequencer(int bufferSize, bool notifyOnPublish)
        : base(bufferSize, notifyOnPublish)
    {
    }

    protected override long ClaimedCursor => _next.Value;

    /// <summary>Claims the next slot; through this sealed type the call is direct and inlinable.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public new long Next() => Next(1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override long Next(int n)
    {
        ValidateClaim(n);
        long current = _next.Value;
        long next = current + n;
        long wrapPoint = next - BufferSize;
        if (wrapPoint > _cachedGating.Value || _cachedGating.Value > current)
        {
            WaitUntilFree(wrapPoint, current);
        }

        _next.Value = next;
        return next;
    }

    public override bool TryNext(int n, out long highest)
    {
        ValidateClaim(n);
        long current = _next.Value;
        long next = current + n;
        long wrapPoint = next - BufferSize;
        if (wrapPoint > _cachedGating.Value || _cachedGating.Value > current)
        {
            long minimum = MinimumGating(current);
            _cachedGating.Value = minimum;
            if (wrapPoint > minimum)
            {
                highest = 0;
                return false;
            }
        }

        _next.Value = next;
        highest = next;
        return true;
    }

    /// <summary>
    /// Takes back the most recent claim, which must not have been published: for a producer that
    /// claimed a slot and then found it could not fill it (e.g. no payload space).
    /// </summary>
    public void Unclaim(long sequence)
    {
        if (sequence != _next.Value || sequence <= Cursor.Value)
        {
            Internal.ThrowHelper.InvalidOperation($"only the last unpublished claim can be taken back (claimed {_next.Value}, asked {sequence})");
        }

        _next.Value = sequence - 1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override void Publish(long sequence)
    {
        Cursor.SetValue(sequence);
        NotifyConsumers();
    }

    public override void Publish(long low, long high) => Publish(high);

    protected override void MarkPublished(long sequence) => Cursor.SetValue(sequence);

    public override bool IsAvailable(long sequence)
    {
        long cursor = Cursor.Value;
        return sequence <= cursor && sequence > cursor - BufferSize;
    }

    public override long HighestPublished(long low, long available) => available;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WaitUntilFree(long wrapPoint, long current)
    {
        long minimum;
        int attempt = 0;
        while (wrapPoint > (minimum = MinimumGating(current)))
        {
            WaitForSpace(ref attempt, wrapPoint);
        }

        _cachedGating.Value = minimum;
    }
}
