namespace EventDaemon.Daemon.Config;

/// <summary>How consumer threads wait for the next slot (<c>[daemon] wait_strategy</c>).</summary>
public enum WaitStrategyKind
{
    /// <summary><c>adaptive</c>: spin briefly, then yield, then sleep; good latency without burning idle cores.</summary>
    Adaptive,

    /// <summary><c>busy-spin</c>: lowest latency, one core per consumer at 100%.</summary>
    BusySpin,

    /// <summary><c>yielding</c>: spin, then <c>sched_yield</c>.</summary>
    Yielding,

    /// <summary><c>sleeping</c>: spin, yield, then short sleeps; low CPU, some latency.</summary>
    Sleeping,

    /// <summary><c>blocking</c>: a condition variable; least CPU, most latency.</summary>
    Blocking,
}
