using System.Numerics;
using System.Runtime.CompilerServices;
using EventDaemon.Ring.Internal;
using EventDaemon.Ring.Waiting;

namespace EventDaemon.Ring.Sequencing;

/// <summary>
/// Hands out sequences to producers and publishes them to consumers, never letting a producer
/// lap the slowest consumer (the gating sequences). Claim with <see cref="Next()"/> (waits for
/// space) or <see cref="TryNext(out long)"/> (fails instead), fill the slot, then
/// <see cref="Publish(long)"/>.
/// </summary>
public abstract class Sequencer
{
    private Sequence[] _gating = [];
    private IIdleStage[]? _idleStages;

    protected Sequencer(int bufferSize, bool notifyOnPublish)
    {
        if (bufferSize < 1 || !BitOperations.IsPow2(bufferSize))
        {
            ThrowHelper.ArgumentOutOfRange(nameof(bufferSize), $"buffer size must be a power of two, got {bufferSize}");
        }

        BufferSize = bufferSize;
        NotifiesOnPublish = notifyOnPublish;
    }

    public int BufferSize { get; }

    /// <summary>For single producers: the highest published sequence. For multiple producers: the
    /// highest claimed one; what is published below it is read through <see cref="HighestPublished"/>.</summary>
    public Sequence Cursor { get; } = new();

    /// <summary>Where consumers (and producers waiting for space) park.</summary>
    public WaitSignal Signal { get; } = new();

    /// <summary>True when consumers park, so every publish must check for sleepers.</summary>
    public bool NotifiesOnPublish { get; }

    /// <summary>Sets the consumers' sequences producers must not overtake: the graph's last stages.
    /// Call before any producer starts.</summary>
    public void SetGatingSequences(Sequence[] sequences) => Volatile.Write(ref _gating, sequences);

    /// <summary>
    /// Producers call this after publishing, outside any lock of theirs: each first-level stage
    /// whose thread is parked is run here, on the producer's thread, for what is published (see
    /// <see cref="EventGraph{T, TWait}.EnableIdleHandoff"/>). Costs one read when the graph has no
    /// such stage.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RunIdleStages()
    {
        if (Volatile.Read(ref _idleStages) is { } stages)
        {
            RunIdle(stages);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RunIdle(IIdleStage[] stages)
    {
        foreach (IIdleStage stage in stages)
        {
            stage.RunIfIdle();
        }
    }

    /// <summary>Sets the stages <see cref="RunIdleStages"/> runs (null: none).</summary>
    internal void SetIdleStages(IIdleStage[]? stages) => Volatile.Write(ref _idleStages, stages);

    /// <summary>Clears the idle stages if they are still <paramref name="stages"/>.</summary>
    internal void ClearIdleStages(IIdleStage[] stages) => Interlocked.CompareExchange(ref _idleStages, null, stages);

    /// <summary>Slots free for claiming right now (a lower bound while consumers run).</summary>
    public long RemainingCapacity => BufferSize - (ClaimedCursor - MinimumGating(ClaimedCursor));

    /// <summary>The smallest gating sequence, or <paramref name="fallback"/> when it is smaller
    /// (no consumer yet, or all of them caught up).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long MinimumGating(long fallback) => Sequence.Minimum(Volatile.Read(ref _gating), fallback);

    /// <summary>The last claimed sequence.</summary>
    protected abstract long ClaimedCursor { get; }

    public long Next() => Next(1);

    /// <summary>Claims <paramref name="n"/> consecutive sequences, waiting for space; returns the highest.</summary>
    public abstract long Next(int n);

    public bool TryNext(out long sequence) => TryNext(1, out sequence);

    /// <summary>Claims <paramref name="n"/> consecutive sequences if there is space now; returns the highest.</summary>
    public abstract bool TryNext(int n, out long highest);

    public abstract void Publish(long sequence);

    public abstract void Publish(long low, long high);

    public abstract bool IsAvailable(long sequence);

    /// <summary>The highest sequence in [<paramref name="low"/>, <paramref name="available"/>] below
    /// which everything is published; <paramref name="low"/> - 1 if <paramref name="low"/> is not.</summary>
    public abstract long HighestPublished(long low, long available);

    /// <summary>A barrier that waits for <paramref name="dependencies"/> (or for publication when empty).</summary>
    public SequenceBarrier NewBarrier(params Sequence[] dependencies) => new(this, dependencies);

    /// <remarks>One unsigned compare inline; the message is built out of line, so the claim path
    /// carries no string-formatting frame.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void ValidateClaim(int n)
    {
        if ((uint)(n - 1) >= (uint)BufferSize)
        {
            ThrowBadClaim(n);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowBadClaim(int n) =>
        ThrowHelper.ArgumentOutOfRange(nameof(n), $"can claim 1..{BufferSize} slots, asked for {n}");

    /// <summary>
    /// Publishes like <see cref="Publish(long)"/>, but leaves stages that lend themselves while
    /// parked (idle hand-off) asleep: the caller runs them next with <see cref="RunIdleStages"/>,
    /// outside any lock of its own. (A plain publish wakes them.)
    /// </summary>
    public void PublishForHandoff(long sequence)
    {
        MarkPublished(sequence);
        NotifyConsumers(wakeIdleStages: false);
    }

    /// <summary>Makes <paramref name="sequence"/> visible to consumers, notifying nobody.</summary>
    protected abstract void MarkPublished(long sequence);

    /// <param name="wakeIdleStages">False only when the caller runs the idle stages itself next.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void NotifyConsumers(bool wakeIdleStages = true)
    {
        if (NotifiesOnPublish)
        {
            Signal.NotifyIfWaiting();
            if (wakeIdleStages && Volatile.Read(ref _idleStages) is { } stages)
            {
                WakeIdle(stages);
            }
        }
    }

    /// <summary>A plain publish wakes the stages that sleep on their own signal while lent.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WakeIdle(IIdleStage[] stages)
    {
        foreach (IIdleStage stage in stages)
        {
            stage.Wake();
        }
    }

    /// <summary>
    /// One step of a producer's wait for space: spin, then yield, then park on the signal that
    /// consumers notify as they advance. Never a hot spin: on two cores the producer would steal
    /// the very core the consumer needs to make space.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    protected void WaitForSpace(ref int attempt, long wrapPoint)
    {
        attempt++;
        if (attempt < 64)
        {
            Thread.SpinWait(4);
        }
        else if (attempt < 80)
        {
            Thread.Yield();
        }
        else
        {
            long generation = Signal.BeginWait();
            try
            {
                if (MinimumGating(long.MaxValue) < wrapPoint)
                {
                    // Consumers notify after each batch while someone waits; 1 ms bounds a miss
                    // by consumers that do not park (spinning strategies skip the fence).
                    Signal.Park(generation, 1);
                }
            }
            finally
            {
                Signal.EndWait();
            }
        }
    }
}
