namespace EventDaemon.Ring.Waiting;

/// <summary>
/// How a consumer waits for a sequence to become available. Implementations are structs so that
/// a processor generic over one is compiled (and inlined) for it alone under Native AOT.
/// </summary>
public interface IWaitStrategy
{
    /// <summary>True when waiters park on the sequence they wait for, whose writer must then wake
    /// them: publishes must check the cursor's sleepers (one plain read each).</summary>
    static abstract bool Parks { get; }

    /// <summary>Tells this instance (one per consumer) what it needs to know before its thread
    /// starts. Kept in the instance: a graph built on reload configures its own consumers and
    /// never touches those of the graph still running.</summary>
    void Configure(in WaitContext context);

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

/// <summary>What a wait strategy is told about the graph it waits in.</summary>
/// <param name="BusyThreads">Threads that will want a core at once: the graph's stages and its
/// producers (in the daemon, every ring's stages and every source).</param>
/// <param name="Cores">Cores the process may run on.</param>
public readonly record struct WaitContext(int BusyThreads, int Cores)
{
    /// <summary>More busy threads than cores: a spinning waiter takes the very core the thread it
    /// waits for needs, so waiters yield instead of spinning.</summary>
    public bool Oversubscribed => BusyThreads > Cores;

    /// <summary>For <paramref name="busyThreads"/> on this machine.</summary>
    public static WaitContext For(int busyThreads) => new(busyThreads, Environment.ProcessorCount);
}
