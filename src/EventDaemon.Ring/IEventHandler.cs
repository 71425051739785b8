namespace EventDaemon.Ring;

/// <summary>
/// A stage's per-event work. Implement it on a struct: a processor generic over the struct is
/// compiled for it alone, so <see cref="OnEvent"/> is a direct, inlinable call.
/// </summary>
public interface IEventHandler<T> where T : unmanaged
{
    /// <summary>Called once on the consumer thread before the first event.</summary>
    void OnStart();

    /// <summary>Handles one slot. <paramref name="endOfBatch"/> is true on the last slot available
    /// now: the moment to flush buffered output.</summary>
    void OnEvent(ref T slot, long sequence, bool endOfBatch);

    /// <summary>Called when no event arrived within the processor's idle timeout, so time-driven
    /// work (closing windows, periodic flushes) happens without traffic.</summary>
    void OnTimeout(long sequence);

    /// <summary>Called once on the consumer thread after the last event, before the thread ends.</summary>
    void OnShutdown();
}
