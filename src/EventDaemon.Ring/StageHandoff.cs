using EventDaemon.Ring.Waiting;

namespace EventDaemon.Ring;

/// <summary>
/// What a handler may ask about the thread it runs on under idle hand-off
/// (<see cref="EventGraph{T, TWait}.EnableIdleHandoff"/>): a producer's, running the batch because
/// the stage's own thread was parked, or the stage's own.
/// </summary>
public static class StageHandoff
{
    /// <summary>Whether the calling thread is a producer running a stage's batch.</summary>
    public static bool OnProducerThread => IdleHandoff.Borrowed is not null;

    /// <summary>
    /// From inside a handler: if this batch runs on a producer's thread, hands the stage back to its
    /// own thread and returns true. The handler must then return without waiting (keeping whatever
    /// it could not finish); once the batch ends, producers stop running the stage and its thread
    /// calls <see cref="IEventHandler{T}.OnTimeout"/>, where the handler may wait as long as it
    /// must. Returns false on the stage's own thread: the handler waits there as it always would.
    /// </summary>
    public static bool TryHandBack()
    {
        IdleHandoff? borrowed = IdleHandoff.Borrowed;
        if (borrowed is null)
        {
            return false;
        }

        borrowed.HandBack();
        return true;
    }
}
