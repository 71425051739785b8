namespace EventDaemon.Ring.Waiting;

/// <summary>
/// Who may run a first-level stage's handler right now: its own thread, or — while that thread is
/// parked — the producer that has just published. At a steady, moderate rate a parked consumer
/// costs every event a cross-core wake-up (tens of microseconds on a VM); a producer that finds
/// the stage idle runs the batch itself instead, as a plain forwarder would. A backlog of
/// <see cref="MaxBatch"/> events or more is load, not a trickle: the producer wakes the stage's
/// own thread for it, which keeps the stage while work is waiting.
/// </summary>
/// <remarks>
/// <para>The lease has one holder at a time, so the handler's state is never touched by two
/// threads at once; taking it is a compare-and-swap (a full fence), giving it back a release
/// store, so each holder sees everything the previous one wrote.</para>
/// <para>No event can be stranded. The consumer lends the lease, then registers on
/// <see cref="Signal"/> (whose process-wide barrier orders its stores before its re-check, as for a
/// <see cref="Sequence"/>), then
/// re-checks the ring before sleeping: so a producer either sees the lease lent, or its publish is
/// seen by that re-check. A producer that finds the lease held by another producer wakes the
/// consumer, which takes the lease back when the other producer returns it and finishes the
/// batch.</para>
/// <para>A handler that would have to wait on a producer's thread (a sink whose write failed)
/// hands the stage back instead (<see cref="StageHandoff.TryHandBack"/>): producers stop running
/// it and the stage's thread is woken for a timeout turn, in which the handler does that waiting
/// where it belongs. Until that turn is over the stage runs only on its own thread, so a stuck sink
/// fills the ring, as it does without hand-off, rather than holding a source's thread.</para>
/// <para>Only a source runs idle stages: a thread that is running a stage (its own, or one it
/// borrowed) and publishes into another ring — an aggregate's window output, a route onward — wakes
/// that ring's idle stages instead of running them (<see cref="RunsAStage"/>, checked by
/// <see cref="Sequencing.Sequencer.RunIdleStages"/>). Otherwise a sink behind an aggregate would
/// run, and could block, on the aggregate's thread — or on the source thread lending it. A handler
/// that must wait for its output (the aggregate when its output ring is full) publishes only on its
/// own thread, handing its stage back when it finds itself on a producer's.</para>
/// </remarks>
internal sealed partial class IdleHandoff
{
    private const int Consumer = 0;
    private const int Lent = 1;
    private const int Producer = 2;
    private const int Closed = 3;

    /// <summary>The most events a producer runs for a stage at once: a larger backlog is load, and
    /// the stage's own thread is woken for it instead (it runs beside the producers).</summary>
    public const int MaxBatch = 64;

    // Starts with the consumer: producers run nothing before the stage's thread has started.
    private int _owner = Consumer;

    // Set by a handler on a producer's thread, cleared by the stage's thread after its timeout turn.
    private volatile bool _handedBack;

    /// <summary>The innermost lease this thread holds as a producer, while it runs a stage; null
    /// otherwise.</summary>
    [ThreadStatic]
    private static IdleHandoff? _borrowed;

    /// <summary>True on a stage's own thread while its processor runs.</summary>
    [ThreadStatic]
    private static bool _stageThread;

    // The lease the borrowing thread held when it took this one: restored by Return, so the outer
    // handler still knows it runs on a producer's thread and can still hand its stage back. Sources
    // never borrow while running a stage (see RunsAStage), but a lease must not depend on every
    // caller knowing that. Written and read only by the lease's one holder.
    private IdleHandoff? _outer;

    /// <summary>A handler asked for the stage's own thread, which has not yet had its timeout turn.</summary>
    public bool IsHandedBack => _handedBack;

    /// <summary>The lease the calling thread holds as a producer, if any.</summary>
    public static IdleHandoff? Borrowed => _borrowed;

    /// <summary>Whether the calling thread is running a stage, its own or a borrowed one: then what
    /// it publishes wakes idle stages rather than running them on this thread.</summary>
    public static bool RunsAStage => _stageThread || _borrowed is not null;

    /// <summary>Marks the calling thread as a stage's own thread (true) or no longer one (false):
    /// a processor's <c>Run</c>, on entry and on exit.</summary>
    internal static void MarkStageThread(bool running) => _stageThread = running;

    /// <summary>Where the consumer sleeps while it lends the lease: producers notify it only when
    /// they cannot run the stage themselves.</summary>
    public WaitSignal Signal { get; } = new();

    /// <summary>Consumer: lets producers run the stage until <see cref="Reclaim"/>.</summary>
    public void Lend() => Volatile.Write(ref _owner, Lent);

    /// <summary>Consumer: takes the lease back, waiting for a producer that holds it to finish.</summary>
    public void Reclaim()
    {
        if (Interlocked.CompareExchange(ref _owner, Consumer, Lent) == Lent)
        {
            return;
        }

        // A producer is running the stage: wait for it, backing off to sleeps if it takes long
        // (a sink write that blocks), so this thread does not spin against it on a shared core.
        var spin = new SpinWait();
        while (Interlocked.CompareExchange(ref _owner, Consumer, Lent) != Lent)
        {
            spin.SpinOnce();
        }
    }

    /// <summary>Consumer, on exit: producers never run the stage again.</summary>
    public void Close() => Volatile.Write(ref _owner, Closed);

    /// <summary>
    /// Producer, after publishing: true if it now holds the lease and must run the stage, then call
    /// <see cref="Return"/>. When another producer holds it, wakes the consumer so that what this
    /// producer published is not left for the other one to notice.
    /// </summary>
    public bool TryBorrow()
    {
        while (true)
        {
            switch (Volatile.Read(ref _owner))
            {
                case Lent when _handedBack:
                    // The stage's thread has work of its own to finish first; it is being woken.
                    Signal.NotifyIfWaiting();
                    return false;
                case Lent:
                    if (Interlocked.CompareExchange(ref _owner, Producer, Lent) == Lent)
                    {
                        _outer = _borrowed;
                        _borrowed = this;
                        return true;
                    }

                    break;
                case Producer:
                    Signal.NotifyIfWaiting();
                    return false;
                default:
                    // The consumer holds it (it is awake and will see the publish) or it is closed.
                    return false;
            }
        }
    }

    /// <summary>Producer: gives the lease back to the parked consumer, waking it if the handler
    /// handed the stage back.</summary>
    public void Return()
    {
        // Before the release store: once the lease is lent again, another producer may take it and
        // set _outer for itself.
        _borrowed = _outer;
        _outer = null;
        Volatile.Write(ref _owner, Lent);
        if (_handedBack)
        {
            // Unconditional: the consumer may be between its re-check and its sleep; the new
            // generation makes that sleep return at once.
            Signal.NotifyAll();
        }
    }

    /// <summary>Producer, from inside the handler: the stage's own thread must take over.</summary>
    public void HandBack() => _handedBack = true;

    /// <summary>Consumer, after the timeout turn a hand-back asked for: producers may run the stage again.</summary>
    public void ClearHandBack() => _handedBack = false;
}
