using EventDaemon.Ring.Internal;
using EventDaemon.Ring.Memory;
using EventDaemon.Ring.Sequencing;
using EventDaemon.Ring.Threading;
using EventDaemon.Ring.Waiting;

namespace EventDaemon.Ring;

/// <summary>
/// Builds and runs the consumer graph of one ring: stages added with no predecessors run in
/// parallel straight off the producers; <c>Add(c, after: a, b)</c> makes c wait until both a and b
/// have finished a slot. Each stage gets its own dedicated thread; <see cref="Fuse"/> puts a
/// later stage of a linear chain on an earlier one's.
/// </summary>
/// <remarks>
/// The producers are gated on the graph's leaves (stages nobody depends on): since every stage
/// trails its predecessors, the leaves are the slowest, and a slot is reused only after every
/// stage has passed it.
/// </remarks>
public sealed class EventGraph<T, TWait> : IEventGraph
    where T : unmanaged
    where TWait : struct, IWaitStrategy
{
    private readonly List<Stage> _stages = [];

    // Each stage's handlers as boxed steps, for fusing it with a later stage (see Fuse).
    private readonly Dictionary<Stage, IEventHandler<T>[]> _steps = [];
    private readonly TWait _wait;
    private bool _started;
    private bool _idleHandoff;
    private IIdleStage[]? _idleStages;

    public EventGraph(RingBuffer<T> ring, Sequencer sequencer, TWait wait = default)
    {
        if (ring.Capacity != sequencer.BufferSize)
        {
            ThrowHelper.ArgumentOutOfRange(nameof(sequencer), "sequencer and ring sizes differ");
        }

        if (TWait.Parks && !sequencer.NotifiesOnPublish)
        {
            ThrowHelper.ArgumentOutOfRange(nameof(sequencer), $"{typeof(TWait).Name} parks: create the sequencer with notifyOnPublish");
        }

        Ring = ring;
        Sequencer = sequencer;
        _wait = wait;
    }

    public RingBuffer<T> Ring { get; }

    public Sequencer Sequencer { get; }

    /// <summary>Threads outside this graph that want a core while it runs: its producers, and in a
    /// process with several rings, the other rings' stages and producers. Together with the graph's
    /// own stages this tells each stage's wait strategy whether threads outnumber cores (then
    /// waiters yield and never spin). Set before <see cref="Start"/>; defaults to one producer.</summary>
    public int ExternalThreads { get; set; } = 1;

    /// <summary>Stages in the order they were added, which is a dependency order.</summary>
    public IReadOnlyList<Stage> Stages => _stages;

    /// <summary>Creates a sequencer fit for <typeparamref name="TWait"/>.</summary>
    public static Sequencer CreateSequencer(int bufferSize, bool multiProducer) =>
        multiProducer
            ? new MultiProducerSequencer(bufferSize, TWait.Parks)
            : new SingleProducerSequencer(bufferSize, TWait.Parks);

    /// <summary>Adds a stage that runs <paramref name="handler"/> after every stage in <paramref name="after"/>.</summary>
    /// <param name="member">The name the stage's handler goes by (<see cref="Stage.Members"/>) when it
    /// differs from the stage's: one thread of a stage split over several.</param>
    public Stage Add<THandler>(string name, THandler handler, Stage[]? after = null, int[]? cpus = null,
        TimeSpan? idleTimeout = null, string? member = null)
        where THandler : struct, IEventHandler<T>
    {
        if (_started)
        {
            ThrowHelper.InvalidOperation("stages cannot be added to a running graph");
        }

        after ??= [];
        var dependencies = new Sequence[after.Length];
        for (int i = 0; i < after.Length; i++)
        {
            if (!_stages.Contains(after[i]))
            {
                ThrowHelper.ArgumentOutOfRange(nameof(after), $"'{after[i].Name}' is not a stage of this graph");
            }

            dependencies[i] = after[i].Processor.Sequence;
            after[i].HasDependants = true;
        }

        var processor = new BatchEventProcessor<T, THandler, TWait>(
            name, Ring, Sequencer.NewBarrier(dependencies), handler, _wait, idleTimeout);
        var stage = new Stage(name, [member ?? name], processor, [processor], after, new ConsumerThread(name, processor.Run, cpus), Sequencer.Cursor);
        _stages.Add(stage);
        _steps[stage] = [new HandlerStep<T, THandler>(handler)];
        return stage;
    }

    /// <summary>
    /// Runs <paramref name="handler"/> on the thread of <paramref name="into"/>, after that stage's
    /// handlers, for every slot: a stage whose only input is a stage nobody else reads needs no
    /// thread of its own, and each event is spared one hand-off between threads (a wake-up, and the
    /// slot's cache lines crossing cores). Returns the fused stage, which replaces
    /// <paramref name="into"/> (same dependencies, CPUs and place in the order); its
    /// <see cref="Stage.Members"/> names both.
    /// </summary>
    /// <param name="idleTimeout">The handler's timeout tick: the fused stage ticks at the shorter of
    /// its members' timeouts, and every member gets every tick.</param>
    /// <param name="stageName">The fused stage's name (its thread's); by default its members' names joined by '+'.</param>
    public Stage Fuse<THandler>(Stage into, string name, THandler handler, TimeSpan? idleTimeout = null, string? stageName = null)
        where THandler : struct, IEventHandler<T>
    {
        if (_started)
        {
            ThrowHelper.InvalidOperation("stages cannot be fused in a running graph");
        }

        int index = _stages.IndexOf(into);
        if (index < 0)
        {
            ThrowHelper.ArgumentOutOfRange(nameof(into), $"'{into.Name}' is not a stage of this graph");
        }

        if (into.HasDependants)
        {
            ThrowHelper.InvalidOperation($"'{into.Name}' has dependants: '{name}' cannot run on its thread");
        }

        IEventHandler<T>[] steps = [.. _steps[into], new HandlerStep<T, THandler>(handler)];
        TimeSpan? timeout = (into.Processor.IdleTimeout, idleTimeout) switch
        {
            ({ } a, { } b) => a < b ? a : b,
            (var a, var b) => a ?? b,
        };
        Sequence[] dependencies = [.. into.DependsOn.Select(s => s.Processor.Sequence)];
        string[] members = [.. into.Members, name];
        string fusedName = stageName ?? string.Join('+', members);
        var processor = new BatchEventProcessor<T, ChainHandler<T>, TWait>(
            fusedName, Ring, Sequencer.NewBarrier(dependencies), new ChainHandler<T>(steps), _wait, timeout);
        var thread = new ConsumerThread(fusedName, processor.Run, [.. into.Thread.RequestedCpus]);
        var fused = new Stage(fusedName, members, processor, steps, [.. into.DependsOn], thread, Sequencer.Cursor);
        _stages[index] = fused;
        _steps.Remove(into);
        _steps[fused] = steps;
        return fused;
    }

    /// <summary>
    /// Lets producers run a first-level stage (one with no predecessors) on their own thread when
    /// they publish while its thread is parked, instead of waking that thread: an event then costs
    /// no wake-up across cores. Such a stage parks as soon as nothing is waiting (no spinning); a
    /// producer that finds a backlog of <see cref="IdleHandoff.MaxBatch"/> events or more wakes the
    /// stage's thread for it instead, so under load stages still run beside their producers.
    /// Producers opt in by calling
    /// <see cref="Sequencer.RunIdleStages"/> after publishing. Only for parking wait strategies;
    /// call before <see cref="Start"/>.
    /// </summary>
    /// <remarks>A handler that blocks on a producer's thread blocks that producer, which stops
    /// reading its source until the handler returns; a handler that would wait (a sink whose write
    /// failed) hands the stage back to its own thread instead (<see cref="StageHandoff.TryHandBack"/>).</remarks>
    public void EnableIdleHandoff()
    {
        if (_started)
        {
            ThrowHelper.InvalidOperation("idle hand-off must be enabled before the graph starts");
        }

        _idleHandoff = TWait.Parks;
    }

    /// <summary>Gates the producers on the leaves and starts every stage's thread.</summary>
    /// <param name="startAfter">The sequence every stage has already finished with: -1 for a new
    /// ring, the cursor when a graph replaces another on a live ring (reload).</param>
    public void Start(long startAfter = Sequence.InitialValue)
    {
        if (_started)
        {
            ThrowHelper.InvalidOperation("the graph was already started");
        }

        _started = true;
        var leaves = new List<Sequence>();
        foreach (Stage stage in _stages)
        {
            if (!stage.HasDependants)
            {
                leaves.Add(stage.Processor.Sequence);
            }
        }

        // Each stage's wait strategy gets its own copy of what it needs, before its thread starts:
        // nothing process-wide that a reload would rewrite under running consumers.
        var context = WaitContext.For(_stages.Count + ExternalThreads);
        foreach (Stage stage in _stages)
        {
            stage.Processor.Sequence.SetValue(startAfter);
            ((IIdleStage)stage.Processor).ConfigureWait(context);
        }

        Sequencer.SetGatingSequences(leaves.ToArray(), producersSpin: !context.Oversubscribed);
        if (_idleHandoff)
        {
            _idleStages = [.. _stages.Where(s => s.DependsOn.Count == 0).Select(s => (IIdleStage)s.Processor)];
            foreach (IIdleStage stage in _idleStages)
            {
                stage.EnableIdleHandoff();
            }

            Sequencer.SetIdleStages(_idleStages);
        }

        foreach (Stage stage in _stages)
        {
            stage.Thread.Start();
        }
    }

    /// <summary>
    /// Stops every stage after it has processed everything published so far. Producers must have
    /// stopped first. Stages halt in dependency order, each once its predecessors have exited, so
    /// nothing published is left unprocessed.
    /// </summary>
    /// <returns>false if a stage did not exit within <paramref name="timeout"/>.</returns>
    public bool Halt(TimeSpan timeout)
    {
        bool allExited = true;
        foreach (Stage stage in _stages)
        {
            stage.Processor.Halt();
            if (stage.Thread.IsAlive && !stage.Thread.Join(timeout))
            {
                allExited = false;
            }
        }

        if (_idleStages is not null)
        {
            Sequencer.ClearIdleStages(_idleStages);
        }

        return allExited;
    }

    public void Dispose()
    {
        if (_started)
        {
            Halt(TimeSpan.FromSeconds(5));
        }
    }
}

/// <summary>What the daemon needs of a running graph, whatever its slot type and wait strategy.</summary>
public interface IEventGraph : IDisposable
{
    IReadOnlyList<Stage> Stages { get; }

    void Start(long startAfter = Sequence.InitialValue);

    bool Halt(TimeSpan timeout);
}

/// <summary>One stage of a graph: its processor, thread and place in the graph. Readable from any thread.</summary>
public sealed class Stage
{
    private readonly Sequence _cursor;

    private readonly object[] _parts;

    internal Stage(string name, string[] members, IEventProcessor processor, object[] parts, Stage[] dependsOn,
        ConsumerThread thread, Sequence cursor)
    {
        Name = name;
        Members = members;
        Processor = processor;
        _parts = parts;
        DependsOn = dependsOn;
        Thread = thread;
        _cursor = cursor;
    }

    /// <summary>The stage's name: its one member's, or the members' joined by '+' when fused.</summary>
    public string Name { get; }

    /// <summary>The names of the handlers this stage runs, in order: one, or several when fused.</summary>
    public IReadOnlyList<string> Members { get; }

    public IEventProcessor Processor { get; }

    /// <summary>Finds the state of this stage's handler of type <typeparamref name="THandler"/>,
    /// whether it runs alone or as a step of a fused stage.</summary>
    public bool TryGetHandler<THandler>(out THandler handler)
        where THandler : struct
    {
        foreach (object part in _parts)
        {
            if (part is IHandlerHost<THandler> host)
            {
                handler = host.Handler;
                return true;
            }

            if (part is IHandlerHost { BoxedHandler: IHandlerWrapper<THandler> wrapper })
            {
                handler = wrapper.Inner;
                return true;
            }
        }

        handler = default;
        return false;
    }

    /// <summary>The state of every handler of type <typeparamref name="THandler"/> this stage runs,
    /// in order: a fused stage may run several (two enrich steps on one thread).</summary>
    public IEnumerable<THandler> Handlers<THandler>()
        where THandler : struct
    {
        foreach (object part in _parts)
        {
            if (part is IHandlerHost<THandler> host)
            {
                yield return host.Handler;
            }
            else if (part is IHandlerHost { BoxedHandler: IHandlerWrapper<THandler> wrapper })
            {
                yield return wrapper.Inner;
            }
        }
    }

    public IReadOnlyList<Stage> DependsOn { get; }

    public ConsumerThread Thread { get; }

    public bool HasDependants { get; internal set; }

    /// <summary>The last sequence this stage has finished with.</summary>
    public long Position => Processor.Sequence.Value;

    /// <summary>Slots between the ring's cursor and this stage (claimed-but-unpublished slots
    /// count for multi-producer rings, so this is an upper bound there).</summary>
    public long Lag => Math.Max(0, _cursor.Value - Position);
}
