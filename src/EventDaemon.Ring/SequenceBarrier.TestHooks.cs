namespace EventDaemon.Ring;

/// <summary>What tests see of a barrier's sleeping: counted on the slow path only.</summary>
public sealed partial class SequenceBarrier
{
    private long _wakeUps;

    /// <summary>Times a waiter on this barrier returned from a park because it was woken (not on
    /// timeout).</summary>
    internal long WakeUps => Interlocked.Read(ref _wakeUps);

    internal void CountWakeUp() => Interlocked.Increment(ref _wakeUps);

    private long _lostWakeUps;

    /// <summary>Parks that slept out their timeout although the sequence they slept on moved after
    /// they registered and no wake-up was issued: each one a lost wake-up the timeout rescued.</summary>
    internal long LostWakeUps => Interlocked.Read(ref _lostWakeUps);

    internal void CountLostWakeUp() => Interlocked.Increment(ref _lostWakeUps);
}
