namespace EventDaemon.Ring;

/// <summary>What tests see of a barrier's sleeping: counted on the slow path only.</summary>
public sealed partial class SequenceBarrier
{
    private long _wakeUps;

    /// <summary>Times a waiter on this barrier returned from a park because it was woken (not on
    /// timeout).</summary>
    internal long WakeUps => Interlocked.Read(ref _wakeUps);

    internal void CountWakeUp() => Interlocked.Increment(ref _wakeUps);

    private long _safetyNetTimeouts;

    /// <summary>Parks with no deadline that slept out (most of) the safety-net timeout without a
    /// wake-up: while events flow, each one is a lost wake-up rescued by the timeout.</summary>
    internal long SafetyNetTimeouts => Interlocked.Read(ref _safetyNetTimeouts);

    /// <summary>Counts a park begun at <paramref name="parked"/> that ended without a wake-up, if it
    /// lasted at least half the safety net (an early return is a signal, not a timeout).</summary>
    internal void CountSafetyNetTimeout(long parked)
    {
        if (System.Diagnostics.Stopwatch.GetElapsedTime(parked).TotalMilliseconds >= Waiting.ParkingWait.MaxParkMs / 2)
        {
            Interlocked.Increment(ref _safetyNetTimeouts);
        }
    }
}
