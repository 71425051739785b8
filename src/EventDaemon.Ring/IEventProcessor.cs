namespace EventDaemon.Ring;

/// <summary>What the graph, the stats socket and the watchdog see of a processor: no generics.</summary>
public interface IEventProcessor
{
    string Name { get; }

    /// <summary>The last sequence this processor has finished with.</summary>
    Sequence Sequence { get; }

    SequenceBarrier Barrier { get; }

    bool IsRunning { get; }

    /// <summary>How long the loop waits before giving the handler a timeout tick; null = never.</summary>
    TimeSpan? IdleTimeout { get; }

    /// <summary>Handler exceptions caught (each skipped one event). Read from any thread.</summary>
    long FailureCount { get; }

    Exception? LastFailure { get; }

    /// <summary>Batches producers ran on their own threads while this processor's thread was
    /// parked (idle hand-off). Read from any thread.</summary>
    long HandedOffBatches { get; }

    /// <summary>Runs the loop on the calling thread until halted and drained.</summary>
    void Run();

    /// <summary>Asks the loop to finish what its dependencies have released, then return.</summary>
    void Halt();
}
