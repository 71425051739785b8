namespace EventDaemon.Ring.Waiting;

/// <summary>
/// How a consumer waits for a sequence to become available. Implementations are structs so that
/// a processor generic over one is compiled (and inlined) for it alone under Native AOT.
/// </summary>
public interface IWaitStrategy
{
    /// <summary>True when waiters park on the ring's <see cref="WaitSignal"/>, which producers and
    /// consumers must then notify; false lets them skip the notification fence.</summary>
    static abstract bool Parks { get; }

    /// <summary>
    /// Waits until every dependency of <paramref name="barrier"/> has reached
    /// <paramref name="sequence"/> and returns the smallest of them (≥ <paramref name="sequence"/>);
    /// or <see cref="WaitResult.Alerted"/> once the barrier is alerted; or
    /// <see cref="WaitResult.TimedOut"/> after <paramref name="deadline"/> (a
    /// <see cref="System.Diagnostics.Stopwatch"/> timestamp; <see cref="long.MaxValue"/> = never).
    /// </summary>
    long WaitFor(long sequence, SequenceBarrier barrier, long deadline);
}

/// <summary>Sentinels a wait returns instead of throwing: nothing on the consumer loop throws.</summary>
public static class WaitResult
{
    public const long Alerted = long.MinValue;
    public const long TimedOut = long.MinValue + 1;

    /// <summary>Sequences start at -1, so anything below -1 is a sentinel.</summary>
    public static bool IsSentinel(long value) => value < Sequence.InitialValue;
}
