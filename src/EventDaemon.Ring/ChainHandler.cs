namespace EventDaemon.Ring;

/// <summary>Something that runs a handler of type <typeparamref name="THandler"/>: a processor,
/// or one step of a fused stage. Lets the daemon find a handler's state whatever the stage's shape.</summary>
public interface IHandlerHost<THandler> : IHandlerHost
{
    ref THandler Handler { get; }
}

/// <summary>The handler a host runs, whatever its type: boxed on each read, so for building and
/// inspecting a graph only, never per event.</summary>
public interface IHandlerHost
{
    object BoxedHandler { get; }
}

/// <summary>
/// A struct handler that runs another inside it (e.g. a tap around a stage's own handler): the
/// stage's lookups (<see cref="Stage.Handlers{THandler}"/>, <see cref="Stage.TryGetHandler{THandler}"/>)
/// see through it to <see cref="Inner"/>, so wrapping a stage never hides its state.
/// </summary>
public interface IHandlerWrapper<TInner>
{
    TInner Inner { get; }
}

/// <summary>A struct handler boxed once (at graph build time) as a step of a fused stage: called
/// through <see cref="IEventHandler{T}"/>, so a chain can hold handlers of any types.</summary>
public sealed class HandlerStep<T, THandler>(THandler handler) : IEventHandler<T>, IHandlerHost<THandler>
    where T : unmanaged
    where THandler : struct, IEventHandler<T>
{
    // Mutable struct kept in place: the handler's state lives here while the stage runs.
    private THandler _handler = handler;

    public ref THandler Handler => ref _handler;

    public object BoxedHandler => _handler;

    public void OnStart() => _handler.OnStart();

    public void OnEvent(ref T slot, long sequence, bool endOfBatch) => _handler.OnEvent(ref slot, sequence, endOfBatch);

    public void OnTimeout(long sequence) => _handler.OnTimeout(sequence);

    public void OnShutdown() => _handler.OnShutdown();
}

/// <summary>
/// The handlers of a fused stage (<see cref="EventGraph{T, TWait}.Fuse"/>), run in order on every
/// slot by one thread: each sees the slot after the previous one has finished with it, as it would
/// through a barrier, without the hand-off between threads. One interface call per step per event.
/// </summary>
/// <remarks>A step that throws skips the rest of the chain for that event (the processor counts the
/// failure once); the next event starts again at the first step.</remarks>
public readonly struct ChainHandler<T>(IEventHandler<T>[] steps) : IEventHandler<T>
    where T : unmanaged
{
    public IReadOnlyList<IEventHandler<T>> Steps => steps;

    public void OnStart()
    {
        foreach (IEventHandler<T> step in steps)
        {
            step.OnStart();
        }
    }

    public void OnEvent(ref T slot, long sequence, bool endOfBatch)
    {
        for (int i = 0; i < steps.Length; i++)
        {
            steps[i].OnEvent(ref slot, sequence, endOfBatch);
        }
    }

    public void OnTimeout(long sequence)
    {
        foreach (IEventHandler<T> step in steps)
        {
            step.OnTimeout(sequence);
        }
    }

    public void OnShutdown()
    {
        foreach (IEventHandler<T> step in steps)
        {
            step.OnShutdown();
        }
    }
}
