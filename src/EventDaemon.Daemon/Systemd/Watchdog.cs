namespace EventDaemon.Daemon.Systemd;

/// <summary>
/// Sends <c>WATCHDOG=1</c> from a thread of its own every interval, but only while the daemon is
/// healthy, so that systemd restarts a daemon whose pipeline has stalled rather than one whose
/// process merely exists.
/// </summary>
/// <remarks>
/// <para>
/// A dedicated thread, not a timer on the thread pool: a pool starved by a misbehaving component
/// would otherwise stop the pings of a healthy pipeline, and the pings must come from the main
/// process (<c>NotifyAccess=main</c> accepts any thread of it).
/// </para>
/// <para>
/// <c>healthy</c> is called on that thread once per interval and answers "does every stage make
/// progress or sit idle"; it must be cheap and must not block. An exception from it counts as
/// unhealthy. Changes of state are logged once each, not per interval.
/// </para>
/// <para>The first check and ping happen as soon as the watchdog starts, so a slow start-up is covered from the beginning.</para>
/// </remarks>
public sealed class Watchdog : IDisposable
{
    private readonly SdNotify _notify;
    private readonly Func<bool> _healthy;
    private readonly Action<string>? _log;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _stop = new(false);
    private readonly int _waitMilliseconds;
    private long _pings;
    private long _checks;
    private int _lastHealthy = 1;
    private bool _disposed;

    /// <param name="notify">Where pings go.</param>
    /// <param name="interval">Between checks: <see cref="SdNotify.WatchdogInterval"/>, half of <c>WatchdogSec</c>.</param>
    /// <param name="healthy">Whether the daemon deserves a ping right now.</param>
    /// <param name="log">Receives state changes (stalled, recovered).</param>
    public Watchdog(SdNotify notify, TimeSpan interval, Func<bool> healthy, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(notify);
        ArgumentNullException.ThrowIfNull(healthy);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _notify = notify;
        _healthy = healthy;
        _log = log;
        Interval = interval;

        // Whole milliseconds, at least one (a sub-millisecond interval must not spin), at most what a wait accepts.
        _waitMilliseconds = (int)Math.Clamp(Math.Ceiling(interval.TotalMilliseconds), 1, int.MaxValue);
        _thread = new Thread(Run) { IsBackground = true, Name = "eventd-watchdog" };
        _thread.Start();
    }

    public TimeSpan Interval { get; }

    /// <summary>Pings sent (the datagram went out).</summary>
    public long Pings => Interlocked.Read(ref _pings);

    /// <summary>Health checks completed, whatever their answer.</summary>
    public long Checks => Interlocked.Read(ref _checks);

    /// <summary>The answer of the last check.</summary>
    public bool IsHealthy => Volatile.Read(ref _lastHealthy) == 1;

    /// <summary>Stops pinging and waits for the thread to finish its current check.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stop.Set();
        _thread.Join();
        _stop.Dispose();
    }

    private void Run()
    {
        do
        {
            bool healthy = Check();
            if (healthy && _notify.Watchdog())
            {
                Interlocked.Increment(ref _pings);
            }

            bool wasHealthy = Volatile.Read(ref _lastHealthy) == 1;
            if (healthy != wasHealthy)
            {
                _log?.Invoke(healthy
                    ? "watchdog: every stage progresses again; WATCHDOG=1 resumes"
                    : "watchdog: a stage is stalled; WATCHDOG=1 withheld (systemd restarts eventd after WatchdogSec)");
            }

            Volatile.Write(ref _lastHealthy, healthy ? 1 : 0);
            Interlocked.Increment(ref _checks);
        }
        while (!_stop.Wait(_waitMilliseconds));
    }

    private bool Check()
    {
        try
        {
            return _healthy();
        }
        catch (Exception e)
        {
            if (Volatile.Read(ref _lastHealthy) == 1)
            {
                _log?.Invoke($"watchdog: the health check failed ({e.Message}); counting it as unhealthy");
            }

            return false;
        }
    }
}
