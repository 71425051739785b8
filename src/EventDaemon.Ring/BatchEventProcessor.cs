using System.Diagnostics;
using System.Runtime.CompilerServices;
using EventDaemon.Ring.Internal;
using EventDaemon.Ring.Memory;
using EventDaemon.Ring.Sequencing;
using EventDaemon.Ring.Waiting;

namespace EventDaemon.Ring;

/// <summary>
/// Runs one stage: waits on its barrier for a batch, hands every slot of it to the handler, then
/// advances its sequence once, releasing the whole batch to dependants and producers.
/// </summary>
/// <remarks>
/// Generic over struct handler and wait strategy, so Native AOT compiles one loop per pair with
/// the handler's code inlined: no interface or delegate dispatch per event.
/// </remarks>
public sealed class BatchEventProcessor<T, THandler, TWait> : IEventProcessor, IHandlerHost<THandler>, IIdleStage
    where T : unmanaged
    where THandler : struct, IEventHandler<T>
    where TWait : struct, IWaitStrategy
{
    private const int Idle = 0;
    private const int Running = 1;
    private const int Halted = 2;

    private readonly RingBuffer<T> _ring;
    private readonly long _idleTimeoutTicks;
    private readonly TimeSpan? _idleTimeout;

    // Mutable struct: the handler keeps its state in place between events, so not readonly.
    private THandler _handler;

    // Mutable struct, for the same reason (a wait strategy may keep state across calls).
    private TWait _wait;

    private int _state;
    private volatile bool _haltRequested;
    private long _failures;
    private Exception? _lastFailure;
    private IdleHandoff? _handoff;
    private long _handedOff;

    public BatchEventProcessor(string name, RingBuffer<T> ring, SequenceBarrier barrier, THandler handler,
        TWait wait = default, TimeSpan? idleTimeout = null)
    {
        Name = name;
        _ring = ring;
        Barrier = barrier;
        _handler = handler;
        _wait = wait;
        _idleTimeout = idleTimeout;
        _idleTimeoutTicks = idleTimeout is { } t ? (long)(t.TotalSeconds * Stopwatch.Frequency) : 0;
    }

    public string Name { get; }

    public Sequence Sequence { get; } = new();

    public SequenceBarrier Barrier { get; }

    /// <summary>How long the loop waits before calling the handler's <c>OnTimeout</c>; null = never.</summary>
    public TimeSpan? IdleTimeout => _idleTimeout;

    public bool IsRunning => Volatile.Read(ref _state) == Running;

    public long FailureCount => Interlocked.Read(ref _failures);

    public Exception? LastFailure => Volatile.Read(ref _lastFailure);

    /// <summary>The handler, for reading its state once the processor has stopped.</summary>
    public ref THandler Handler => ref _handler;

    public object BoxedHandler => _handler;

    /// <summary>This stage's wait strategy, as configured (for tests).</summary>
    internal ref readonly TWait WaitStrategy => ref _wait;

    /// <summary>Batches producers ran on their own threads while this stage's thread was parked.</summary>
    public long HandedOffBatches => Volatile.Read(ref _handedOff);

    /// <summary>Lets producers that call <see cref="Sequencer.RunIdleStages"/> run this stage while
    /// its thread is parked (see <see cref="IdleHandoff"/>).</summary>
    void IIdleStage.EnableIdleHandoff()
    {
        if (Volatile.Read(ref _state) != Idle)
        {
            ThrowHelper.InvalidOperation($"processor '{Name}' is already running");
        }

        _handoff = new IdleHandoff();
        Barrier.Handoff = _handoff;
    }

    void IIdleStage.Wake() => _handoff?.Signal.NotifyIfWaiting();

    /// <summary>Configures this stage's wait strategy; only before its thread starts (the thread
    /// start publishes the write to it).</summary>
    void IIdleStage.ConfigureWait(in WaitContext context)
    {
        if (Volatile.Read(ref _state) != Idle)
        {
            ThrowHelper.InvalidOperation($"processor '{Name}' is already running");
        }

        _wait.Configure(context);
    }

    void IIdleStage.RunIfIdle()
    {
        IdleHandoff? handoff = _handoff;
        if (handoff is null || !handoff.TryBorrow())
        {
            return;
        }

        bool wake = false;
        try
        {
            long next = Sequence.Value + 1;
            long available = Barrier.AvailableNow(next);
            if (available - next + 1 >= IdleHandoff.MaxBatch)
            {
                // A backlog this size is load, not a trickle: wake the stage's own thread for it,
                // so that under load the stage keeps running beside its producers.
                wake = true;
            }
            else if (available >= next)
            {
                ProcessBatch(next, available);
                _handedOff++;
            }
        }
        finally
        {
            handoff.Return();
        }

        if (wake)
        {
            ((IIdleStage)this).Wake();
        }
    }

    public void Halt()
    {
        _haltRequested = true;
        Barrier.Alert();
    }

    public void Run()
    {
        if (Interlocked.CompareExchange(ref _state, Running, Idle) != Idle)
        {
            ThrowHelper.InvalidOperation($"processor '{Name}' was already started");
        }

        // The alert is never cleared: a processor runs once, and a Halt() that lands before this
        // thread gets here must still stop it.
        IdleHandoff.MarkStageThread(true);
        try
        {
            RunLoop();
        }
        finally
        {
            IdleHandoff.MarkStageThread(false);
        }
    }

    private void RunLoop()
    {
        _handler.OnStart();
        long next = Sequence.Value + 1;
        while (true)
        {
            long available = Barrier.WaitFor(ref _wait, next, Deadline());
            if (_handoff is not null)
            {
                // Producers may have run batches of this stage while its thread was parked.
                next = Sequence.Value + 1;
                if (_handoff.IsHandedBack)
                {
                    // A handler could not finish on a producer's thread (see StageHandoff): its
                    // turn comes first, here; producers run the stage again only after it.
                    OnTimeout(next - 1);
                    _handoff.ClearHandBack();
                    continue;
                }
            }

            if (available >= next)
            {
                next = ProcessBatch(next, available);
            }
            else if (available == WaitResult.TimedOut)
            {
                OnTimeout(next - 1);
            }
            else if (_haltRequested)
            {
                // Drain: whatever the dependencies had released when they stopped is still ours.
                long rest = Barrier.AvailableNow(next);
                if (rest < next)
                {
                    break;
                }

                next = ProcessBatch(next, rest);
            }
        }

        _handoff?.Close();
        _handler.OnShutdown();
        Volatile.Write(ref _state, Halted);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long Deadline() =>
        _idleTimeoutTicks == 0 ? long.MaxValue : Stopwatch.GetTimestamp() + _idleTimeoutTicks;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long ProcessBatch(long next, long available)
    {
        long sequence = next;
        try
        {
            for (; sequence <= available; sequence++)
            {
                _handler.OnEvent(ref _ring[sequence], sequence, sequence == available);
            }
        }
        catch (Exception e)
        {
            // The failing event is skipped (counted and kept for health); the rest of the batch
            // is picked up by the next turn of the loop.
            RecordFailure(e);
            available = sequence;
        }

        Sequence.SetValue(available);
        // Wakes only the stages after this one and producers gated on it, and only if one sleeps.
        Sequence.WakeWaiters();
        return available + 1;
    }

    private void OnTimeout(long sequence)
    {
        try
        {
            _handler.OnTimeout(sequence);
        }
        catch (Exception e)
        {
            RecordFailure(e);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RecordFailure(Exception e)
    {
        Volatile.Write(ref _lastFailure, e);
        Interlocked.Increment(ref _failures);
    }
}
