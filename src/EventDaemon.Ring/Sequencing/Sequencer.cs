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
    // Replaced as a whole (one reference) when a graph starts, also on reload while producers run.
    private Gating _gating = new([], ProducersSpin: true);
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

    /// <summary>True when consumers park, so every publish must check the cursor for sleepers.</summary>
    public bool NotifiesOnPublish { get; }

    /// <summary>Sets the consumers' sequences producers must not overtake: the graph's last stages.
    /// A producer that finds the ring full sleeps on the one it is behind, and only that stage's
    /// batch ends wake it.</summary>
    /// <param name="producersSpin">False when busy threads outnumber cores: a producer waiting for
    /// space then yields at once instead of spinning on the core a consumer needs.</param>
    public void SetGatingSequences(Sequence[] sequences, bool producersSpin = true) =>
        Volatile.Write(ref _gating, new Gating(sequences, producersSpin));

    /// <summary>
    /// Producers call this after publishing, outside any lock of theirs: each first-level stage
    /// whose thread is parked is run here, on the producer's thread, for what is published (see
    /// <see cref="EventGraph{T, TWait}.EnableIdleHandoff"/>). Costs one read when the graph has no
    /// such stage. On a thread that is running a stage (a stage publishing into another ring) the
    /// stages are woken instead: a stage never runs another ring's stages inside its batch, so
    /// nothing downstream can hold it (or the source lending it).
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
        if (IdleHandoff.RunsAStage)
        {
            WakeIdle(stages);
            return;
        }

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
    public long MinimumGating(long fallback) => Sequence.Minimum(Volatile.Read(ref _gating).Sequences, fallback);

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
            Cursor.WakeWaiters();
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
    /// One step of a producer's wait for space: spin (only while every busy thread has a core), then
    /// yield, then sleep on the gating sequence it is behind, which that stage's batch ends wake.
    /// Never a long hot spin: on two cores the producer would steal the very core the consumer
    /// needs to make space.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    protected void WaitForSpace(ref int attempt, long wrapPoint)
    {
        const int Spins = 64;
        const int Yields = 16;
        Gating gating = Volatile.Read(ref _gating);
        int spins = gating.ProducersSpin ? Spins : 0;
        attempt++;
        if (attempt <= spins)
        {
            Thread.SpinWait(4);
            return;
        }

        if (attempt <= spins + Yields)
        {
            Thread.Yield();
            return;
        }

        foreach (Sequence sequence in gating.Sequences)
        {
            if (sequence.Value < wrapPoint)
            {
                int generation = sequence.BeginWait();
                // Re-check after registering (see Sequence): a batch end before BeginWait is seen
                // here, one after it wakes us.
                if (sequence.Value < wrapPoint)
                {
                    // Every processor wakes its sequence's sleepers after each batch; the timeout
                    // only bounds a sequence advanced by hand without WakeWaiters.
                    sequence.Park(generation, SpaceParkMs);
                }

                return;
            }
        }
    }

    /// <summary>The longest a producer sleeps before looking at the gating sequences again.</summary>
    private const int SpaceParkMs = 10;

    /// <summary>What producers wait on, and how: replaced together.</summary>
    private sealed record Gating(Sequence[] Sequences, bool ProducersSpin);
}
