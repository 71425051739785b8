namespace EventDaemon.Ring.Threading;

/// <summary>
/// A dedicated, named thread for one consumer (never the thread pool, whose threads come and go
/// and cannot be pinned), optionally pinned to CPUs before it runs its body.
/// </summary>
public sealed class ConsumerThread
{
    private readonly Thread _thread;
    private readonly Action _body;
    private readonly int[] _cpus;
    private readonly ManualResetEventSlim _started = new();
    private volatile int _nativeId;

    public ConsumerThread(string name, Action body, int[]? cpus = null)
    {
        Name = name;
        _body = body;
        _cpus = cpus ?? [];
        // Linux truncates thread names to 15 bytes: keep the distinctive end of the stage name.
        _thread = new Thread(Run) { Name = name, IsBackground = true };
    }

    public string Name { get; }

    /// <summary>The CPUs asked for (empty = not pinned).</summary>
    public IReadOnlyList<int> RequestedCpus => _cpus;

    /// <summary>The kernel thread id once started, 0 before.</summary>
    public int NativeThreadId => _nativeId;

    /// <summary>Why pinning failed, if it did; the thread then runs unpinned.</summary>
    public string? PinningWarning { get; private set; }

    public bool IsAlive => _thread.IsAlive;

    /// <summary>Starts the thread and returns once it is pinned and about to run its body.</summary>
    public void Start()
    {
        _thread.Start();
        _started.Wait();
    }

    public bool Join(TimeSpan timeout) => _thread.Join(timeout);

    /// <summary>The CPUs the running thread may use, read back from the kernel.</summary>
    public int[] CurrentAffinity() => _nativeId == 0 ? [] : Affinity.Get(_nativeId);

    private void Run()
    {
        _nativeId = Affinity.CurrentThreadId();
        if (_cpus.Length > 0)
        {
            PinningWarning = Affinity.PinCurrentThread(_cpus);
        }

        _started.Set();
        _body();
    }
}
