using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Config.Internal;
using EventDaemon.Daemon.Control;
using EventDaemon.Daemon.Http;
using EventDaemon.Daemon.Metrics;
using EventDaemon.Daemon.Runtime;
using EventDaemon.Daemon.Sinks;
using EventDaemon.Daemon.Sources;
using EventDaemon.Daemon.Systemd;
using EventDaemon.Ring;
using EventDaemon.Stages.Expressions;
using EventDaemon.Stages.Metrics;

namespace EventDaemon.Daemon.Hosting;

/// <summary>
/// <c>eventd run</c>: loads the config, builds and starts the pipeline, serves the control
/// socket, speaks the systemd notify protocol, reloads on SIGHUP and drains on SIGTERM/SIGINT.
/// </summary>
public sealed class DaemonHost : IControlTarget, IHttpTarget, IDisposable
{
    private readonly string? _configPath;
    private readonly Stopwatch _uptime = Stopwatch.StartNew();
    private readonly ManualResetEventSlim _drainRequested = new();
    private readonly Lock _reloadLock = new();
    private readonly SdNotify _notify;
    private readonly int _pid = Environment.ProcessId;
    private Pipeline _pipeline = null!;
    private ControlServer? _control;
    private HttpServer? _http;
    private volatile DaemonPhase _phase = DaemonPhase.Starting;
    private PipelineMonitor? _monitor;
    private Watchdog? _watchdog;
    private Thread? _statusThread;

    private DaemonHost(string? configPath, SdNotify notify)
    {
        _configPath = configPath;
        _notify = notify;
    }

    /// <summary>Validates filter conditions with the real compiler, so config errors name their position.</summary>
    public static IConditionValidator Conditions { get; } = new DelegateConditionValidator(text =>
        FilterProgram.TryCompile(text, out _, out ExpressionError error)
            ? null
            : new ConditionError(error.Line, error.Column, error.Message));

    /// <summary>Runs until drained. Returns the process exit code.</summary>
    public static int Run(string? configPath)
    {
        ConfigResult loaded = Load(configPath);
        if (loaded.Config is { } config)
        {
            Log.Configure(config.Daemon.LogFormat);
        }

        foreach (ConfigDiagnostic warning in loaded.Warnings)
        {
            Log.Warning(ErrorFormatter.Format(warning));
        }

        if (loaded.Config is null)
        {
            ErrorFormatter.Write(Console.Error, loaded.Errors);
            return 1;
        }

        using var host = new DaemonHost(configPath, SdNotify.FromEnvironment(Log.Warning));
        try
        {
            return host.RunLoaded(loaded.Config);
        }
        catch (Exception e) when (IsOutOfMemory(e))
        {
            // Past the pipeline's own start, e.g. the signal-handling thread once the stage threads
            // have taken the address space: the same one line as a pipeline that could not be built.
            Log.Error(OutOfMemory(loaded.Config, e));
            return 1;
        }
    }

    /// <summary>What <c>eventd validate</c> prints: the config checked as <c>run</c> and <c>reload</c> check it.</summary>
    public static ConfigResult Validate(string path) => Load(path);

    private static ConfigResult Load(string? path) =>
        PipelineBuilder.Check(path is null ? EmbeddedConfig.Load(Conditions) : ConfigLoader.Load(path, Conditions));

    private int RunLoaded(EventdConfig config)
    {
        try
        {
            _pipeline = PipelineBuilder.Build(config);
        }
        catch (Exception e) when (e is PipelineException or InsufficientMemoryException or ArgumentException)
        {
            Log.Error(e.Message);
            return 1;
        }
        catch (Exception e) when (IsOutOfMemory(e))
        {
            Log.Error(OutOfMemory(config, e));
            return 1;
        }

        ReportMemory();
        ReportJournal();
        // Before the control socket and the http endpoint serve: stats, metrics and health read it.
        _monitor = new PipelineMonitor(() => Volatile.Read(ref _pipeline));
        try
        {
            _control = ControlServer.Start(config.Daemon.ControlSocket, this);
        }
        catch (ControlSocketException e)
        {
            Log.Error(e.Message);
            _pipeline.Dispose();
            return 1;
        }

        // Before the pipeline starts, so that /ready says 503 while it does.
        if (config.Daemon.HttpEndPoint is { } httpEndPoint)
        {
            try
            {
                _http = HttpServer.Start(httpEndPoint, config.Daemon.Http.ToString()!, this);
            }
            catch (HttpListenException e)
            {
                Log.Error(e.Message);
                _control.Dispose();
                _pipeline.Dispose();
                return 1;
            }
        }

        // Before sources accept: stats must not need a new descriptor at the open-file limit.
        StatsCollector.OpenProcessStatus();
        try
        {
            _pipeline.Start();
        }
        catch (Exception e) when (e is SourceBindException || IsOutOfMemory(e))
        {
            Log.Error(e is SourceBindException ? e.Message : OutOfMemory(config, e));
            _http?.Dispose();
            _control.Dispose();
            _pipeline.Dispose();
            return 1;
        }

        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnStopSignal);
        using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnStopSignal);
        using PosixSignalRegistration hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnReloadSignal);

        _watchdog = _notify.WatchdogInterval is { } interval
            ? new Watchdog(_notify, interval, () => _monitor.Stalled().Count == 0, Log.Warning)
            : null;
        Log.Info($"running: {string.Join(", ", _pipeline.Sources.Select(s => s.Describe()))}; control socket {_control.SocketPath}"
            + (_http is null ? "" : $"; http on {_http.LocalEndPoint}"));
        _notify.Ready();
        _phase = DaemonPhase.Ready;
        _statusThread = new Thread(Fatal.Guard(StatusLoop)) { Name = "status", IsBackground = true };
        _statusThread.Start();

        _drainRequested.Wait();
        _phase = DaemonPhase.Draining;
        _notify.Stopping();
        Log.Info("draining: sources stopped, finishing events in flight");
        bool drained = _pipeline.Drain(_pipeline.Config.Daemon.DrainTimeout.ToTimeSpan());
        bool journalDurable = _pipeline.Journal is not { } journal || journal.Close(JournalCloseTimeout);
        if (!journalDurable)
        {
            Log.Error($"journal: what was written in the last {JournalCloseTimeout.TotalSeconds:0} s could not be made durable before exit: {_pipeline.Journal!.Problem ?? "sync did not finish"}");
        }

        // With a journal made durable and every sink checkpointing, what a drain gave up on is in the
        // journal past those sinks' checkpoints: the next start replays it, so nothing is lost.
        bool replayable = !drained && journalDurable && _pipeline.Journal is { } j
            && j.Checkpointers.Count >= _pipeline.StageMetrics.Count(m => m.Kind == "sink");
        if (replayable)
        {
            Log.Warning(string.Create(CultureInfo.InvariantCulture,
                $"drain timed out after {_pipeline.Config.Daemon.DrainTimeout}: {_pipeline.AbandonedEvents} events not delivered; they are in the journal and the next start replays them; exit code 0"));
        }
        else if (!drained)
        {
            Log.Error(string.Create(CultureInfo.InvariantCulture,
                $"drain timed out after {_pipeline.Config.Daemon.DrainTimeout}: {_pipeline.AbandonedEvents} events abandoned (a sink could not deliver them; see sink_errors_total); exit code {AbandonedExitCode}"));
        }

        Log.Info($"stopped after {_uptime.Elapsed.TotalSeconds:0.0} s");
        return drained || replayable ? 0 : AbandonedExitCode;
    }

    /// <summary>
    /// Exit code of a drain (or SIGTERM) that timed out and abandoned events: not 1, so that an
    /// operator (or systemd's <c>SuccessExitStatus</c>, which the shipped unit leaves out on purpose)
    /// tells "stopped, but lost what was in flight" from "failed to start".
    /// </summary>
    public const int AbandonedExitCode = 3;

    /// <summary>The heap, or the address space for a thread's stack (pthread_create's ENOMEM, which .NET reports as a Win32Exception).</summary>
    private static bool IsOutOfMemory(Exception e) =>
        e is OutOfMemoryException or System.ComponentModel.Win32Exception { NativeErrorCode: ENOMEM };

    private const int ENOMEM = 12;

    private static string OutOfMemory(EventdConfig config, Exception e) =>
        $"not enough memory to build the pipeline ({config.Topology.Stages.Count} transforms and sinks, each a thread with an output buffer; {e.GetType().Name}): "
        + "raise the memory or address-space limit (ulimit -v, MemoryMax=), or use fewer sinks";

    private void OnStopSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        _drainRequested.Set();
    }

    private void OnReloadSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        ThreadPool.UnsafeQueueUserWorkItem(_ =>
        {
            Reloader.Logged(Reload(), Reloader.BySignal);
        }, null);
    }

    private void StatusLoop()
    {
        // Retention runs once at READY too, after the replay: a daemon restarted again within a
        // second of each start (a crash loop) must not let the journal grow until the disk is full.
        RetainJournal();
        while (!_drainRequested.Wait(1000))
        {
            RetainJournal();
            (double one, _) = _monitor!.Rates();
            _notify.Status(string.Create(CultureInfo.InvariantCulture,
                $"{one:0} events/s, ring {_pipeline.Ring.Occupancy}/{_pipeline.Ring.Capacity}"));
        }
    }

    private void RetainJournal()
    {
        try
        {
            _pipeline.RetainJournal();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A segment that cannot be deleted stays on disk; the daemon goes on.
            Log.Warning($"journal retention: {e.Message}");
        }
    }

    /// <summary>How long the exit waits for the journal's last sync: several syncs on a slow disk.</summary>
    private static readonly TimeSpan JournalCloseTimeout = TimeSpan.FromSeconds(5);

    private void ReportJournal()
    {
        if (_pipeline.Journal is not { } journal)
        {
            return;
        }

        Log.Info(string.Create(CultureInfo.InvariantCulture,
            $"journal {journal.Settings.Directory}: {journal.SegmentCount} segments, next sequence {journal.LiveBase}, fsync {EventDaemon.Daemon.Config.Internal.JournalBinder.FsyncChoices.NameOf(journal.Settings.Fsync)}"));
        if (journal.TornBytes > 0)
        {
            Log.Warning(string.Create(CultureInfo.InvariantCulture,
                $"journal: a torn final write ({journal.TornBytes} bytes, never durable) was zeroed"));
        }

        // Each place once, naming segment and offset; a replay logs only damage this did not name.
        foreach (EventDaemon.Daemon.Journal.JournalDamage damage in journal.DamageAtStart)
        {
            Log.Warning(string.Create(CultureInfo.InvariantCulture, $"journal: damage in {damage} (see eventd journal verify)"));
        }

        if (journal.LostAtStart > 0)
        {
            Log.Warning(string.Create(CultureInfo.InvariantCulture,
                $"journal: {journal.LostAtStart} records lost to damage in the last segment (journal_records_lost_total); reading goes on at the next intact group"));
        }
    }

    private void ReportMemory()
    {
        foreach (string? warning in new[] { _pipeline.Ring.Slots.Region.LockWarning, _pipeline.Ring.Arena.Region.LockWarning })
        {
            if (warning is not null)
            {
                Log.Warning(warning);
            }
        }
    }

    // ---- control commands ------------------------------------------------------------------

    public IReadOnlyList<MetricFamily> CollectMetrics() => StatsCollector.Collect(_pipeline, _uptime.Elapsed, _monitor!);

    public DaemonPhase Phase => _phase;

    public string Metrics() => MetricsFormatter.Prometheus(CollectMetrics(), LatencyHistograms(), JournalSyncLatency());

    public Stages.Metrics.LatencyHistogram? JournalSyncLatency() => _pipeline.Journal?.SyncLatency;

    public IReadOnlyList<StageLatency> LatencyHistograms() =>
        _pipeline.StageMetrics.Select(m => new StageLatency(m.Name, m.Latency)).ToList();

    public string Info()
    {
        Pipeline p = _pipeline;
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"version {BuildInfo.Version} ({BuildInfo.Commit})\n");
        text.Append(CultureInfo.InvariantCulture, $"pid {_pid}\n");
        text.Append(CultureInfo.InvariantCulture, $"uptime_seconds {_uptime.Elapsed.TotalSeconds:0}\n");
        text.Append(CultureInfo.InvariantCulture, $"config {_configPath ?? EmbeddedConfig.SourceName}\n");
        text.Append(CultureInfo.InvariantCulture, $"ring {p.Ring.Capacity} slots x {Events.EventSlot.Size} B, locked={Lower(p.Ring.Slots.Region.IsLocked)}, huge_pages_advised={Lower(p.Ring.Slots.Region.HugePagesAdvised)}\n");
        text.Append(CultureInfo.InvariantCulture, $"arena {p.Ring.Arena.Capacity} B, locked={Lower(p.Ring.Arena.Region.IsLocked)}\n");
        text.Append(CultureInfo.InvariantCulture, $"wait_strategy {ConfigNames.WaitStrategies.NameOf(p.Config.Daemon.WaitStrategy)}\n");
        foreach (Source source in p.Sources)
        {
            text.Append(CultureInfo.InvariantCulture, $"source {source.Name}: {source.Describe()}\n");
        }

        text.Append("plan:\n").Append(p.Plan);
        foreach (RingGraph graph in p.Graphs)
        {
            text.Append(CultureInfo.InvariantCulture, $"decoded on the readers, {graph.Name} ring: {graph.Catalog}\n");
        }

        foreach (Stage stage in p.AllStages)
        {
            int[] cpus = stage.Thread.CurrentAffinity();
            text.Append(CultureInfo.InvariantCulture,
                $"thread {stage.Name}: tid {stage.Thread.NativeThreadId}, cpus [{string.Join(',', cpus)}]{(stage.Thread.RequestedCpus.Count > 0 ? " (pinned)" : "")}\n");
        }

        return text.ToString().TrimEnd('\n');
    }

    /// <summary>The config's spelling of a boolean (<c>true</c>), not .NET's (<c>True</c>): info is read by people who write configs.</summary>
    private static string Lower(bool value) => value ? "true" : "false";

    public string Health()
    {
        Pipeline p = _pipeline;
        var problems = new List<string>();
        foreach ((Stage stage, TimeSpan stalledFor) in _monitor!.Stalled())
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture,
                $"stage {stage.Name} stalled: no progress for {stalledFor.TotalSeconds:0} s with {stage.Lag} events waiting"));
        }

        long now = Stopwatch.GetTimestamp();
        foreach (StageMetrics stage in p.StageMetrics)
        {
            if (stage.LastError is { } error)
            {
                problems.Add($"sink {stage.Name} failing: {error} ({stage.Errors} errors)");
            }
            else if (stage.Kind == "sink"
                && SinkWatch.BlockedLine(stage, p.AllStages.Where(s => s.Members.Contains(stage.Name)).Select(s => s.Lag).DefaultIfEmpty().Max(), now) is { } blocked)
            {
                problems.Add(blocked);
            }
        }

        foreach (Stage stage in p.AllStages)
        {
            if (stage.Processor.FailureCount > 0)
            {
                problems.Add($"stage {stage.Name}: {stage.Processor.FailureCount} events failed, last: {stage.Processor.LastFailure?.Message}");
            }
        }

        if (p.Journal?.Problem is { } journal)
        {
            // Sources are pushed back while it lasts (when_full = "block").
            problems.Add($"journal blocked: {journal}");
        }

        foreach (Source source in p.Sources)
        {
            if (source is NatsSource { Problem: { } natsProblem })
            {
                problems.Add(natsProblem);
            }
        }

        long used = p.Ring.ArenaUsed;
        if (used > p.Ring.Arena.Capacity * 9 / 10)
        {
            problems.Add($"arena near full: {used} of {p.Ring.Arena.Capacity} bytes in use");
        }

        if (p.Ring.Occupancy > p.Ring.Capacity * 9 / 10)
        {
            problems.Add($"ring near full: {p.Ring.Occupancy} of {p.Ring.Capacity} slots in use");
        }

        return problems.Count == 0 ? "ok" : string.Join('\n', problems);
    }

    public string Latency()
    {
        var text = new StringBuilder("stage                    p50        p90        p99      p99.9     p99.99        max   (ns, ingest -> stage done)\n");
        foreach (StageMetrics stage in _pipeline.StageMetrics)
        {
            LatencyHistogram h = stage.Latency;
            text.Append(CultureInfo.InvariantCulture,
                $"{stage.Name,-20} {h.ValueAt(0.5),10} {h.ValueAt(0.9),10} {h.ValueAt(0.99),10} {h.ValueAt(0.999),10} {h.ValueAt(0.9999),10} {h.ValueAt(1),10}\n");
        }

        return text.ToString().TrimEnd('\n');
    }

    public string Errors()
    {
        Pipeline p = _pipeline;
        string text = p.Errors.Format(id => id < p.SourceMetrics.Count ? p.SourceMetrics[id].Name : id.ToString(CultureInfo.InvariantCulture));
        return text.Length == 0 ? "no bad input recorded" : text.TrimEnd('\n');
    }

    public StageTap? FindTap(string stage, out IReadOnlyList<string> tappable)
    {
        IReadOnlyDictionary<string, StageTap> taps = Volatile.Read(ref _pipeline).Taps;
        tappable = [.. taps.Keys];
        return taps.GetValueOrDefault(stage);
    }

    public string Config() => _pipeline.Config.ToString().TrimEnd('\n');

    public ControlReply Drain()
    {
        _drainRequested.Set();
        return new ControlReply(true, "draining: sources stopped; the daemon exits once every event in flight is written");
    }

    public ControlReply Reload()
    {
        lock (_reloadLock)
        {
            _notify.Reloading();
            try
            {
                return Reloader.Reload(_pipeline, Load(_configPath));
            }
            catch (Exception e) when (IsOutOfMemory(e))
            {
                // Thrown while the new graph is built, before anything of the running one changes.
                return new ControlReply(false, $"error: reload refused; the running config stays: {OutOfMemory(_pipeline.Config, e)}");
            }
            finally
            {
                _notify.Ready();
            }
        }
    }

    public void Dispose()
    {
        _watchdog?.Dispose();
        _http?.Dispose();
        _monitor?.Dispose();
        _control?.Dispose();
        _pipeline?.Dispose();
    }
}
