using System.Diagnostics;
using EventDaemon.Daemon.Runtime;
using EventDaemon.Daemon.Sinks;
using EventDaemon.Ring;

namespace EventDaemon.Daemon.Hosting;

/// <summary>
/// Samples the pipeline once a second on its own thread: event rates for <c>events_per_second</c>,
/// and each stage's progress, so that a stage with work that has not moved for
/// <see cref="StallAfter"/> is reported by <c>health</c> and stops the systemd watchdog; and the
/// sinks' stalls and failures, logged once per episode (<see cref="SinkWatch"/>).
/// </summary>
public sealed class PipelineMonitor : IDisposable
{
    /// <summary>A stage with pending work and no progress for this long is stalled.</summary>
    public static readonly TimeSpan StallAfter = TimeSpan.FromSeconds(
        int.TryParse(Environment.GetEnvironmentVariable("EVENTD_STALL_SECONDS"), out int s) && s > 0 ? s : 5);

    private readonly Func<Pipeline> _pipeline;
    private readonly long[] _received = new long[11];
    private readonly Dictionary<Stage, (long Position, long Since)> _progress = [];
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _stop = new();
    private readonly SinkWatch _sinks = new(Log.Info, Log.Warning);
    private readonly Func<string, long> _lagOf;
    private int _samples;

    // The stage list is rebuilt only when a reload replaces the graphs: a tick allocates nothing.
    private List<RingGraph>? _graphs;
    private Stage[] _stages = [];

    public PipelineMonitor(Func<Pipeline> pipeline)
    {
        _pipeline = pipeline;
        _lagOf = LagOf;
        _thread = new Thread(Run) { Name = "monitor", IsBackground = true };
        _thread.Start();
    }

    /// <summary>Received events per second over the last second and the last ten.</summary>
    public (double OneSecond, double TenSeconds) Rates()
    {
        lock (_received)
        {
            int n = _samples;
            if (n < 2)
            {
                return (0, 0);
            }

            long Last(int back) => _received[(n - 1 - back) % _received.Length];
            double one = Last(0) - Last(1);
            int span = Math.Min(10, n - 1);
            double ten = (Last(0) - Last(span)) / (double)span;
            return (one, ten);
        }
    }

    /// <summary>Stages that have work and have not moved for <see cref="StallAfter"/>.</summary>
    public List<(Stage Stage, TimeSpan For)> Stalled()
    {
        var stalled = new List<(Stage, TimeSpan)>();
        long now = Environment.TickCount64;
        lock (_progress)
        {
            foreach ((Stage stage, (long position, long since)) in _progress)
            {
                if (stage.Lag > 0 && stage.Position == position && now - since >= StallAfter.TotalMilliseconds)
                {
                    stalled.Add((stage, TimeSpan.FromMilliseconds(now - since)));
                }
            }
        }

        return stalled;
    }

    private void Run()
    {
        while (!_stop.Wait(1000))
        {
            Pipeline pipeline = _pipeline();
            long total = 0;
            foreach (Metrics.SourceMetrics source in pipeline.SourceMetrics)
            {
                total += source.Received;
            }

            lock (_received)
            {
                _received[_samples % _received.Length] = total;
                _samples++;
            }

            long now = Environment.TickCount64;
            lock (_progress)
            {
                if (!ReferenceEquals(pipeline.Graphs, _graphs))
                {
                    _graphs = pipeline.Graphs;
                    _stages = pipeline.AllStages.ToArray();
                    _progress.Clear();
                }

                foreach (Stage stage in _stages)
                {
                    long position = stage.Position;
                    // Idle (no lag) counts as progress: the clock restarts.
                    if (!_progress.TryGetValue(stage, out var seen) || seen.Position != position || stage.Lag == 0)
                    {
                        _progress[stage] = (position, now);
                    }
                }
            }

            _sinks.Check(pipeline.StageMetrics, _lagOf, Stopwatch.GetTimestamp());
        }
    }

    /// <summary>The lag of the stage that runs <paramref name="member"/> (the largest, if split); monitor thread only.</summary>
    private long LagOf(string member)
    {
        long lag = 0;
        foreach (Stage stage in _stages)
        {
            if (stage.Members.Contains(member))
            {
                lag = Math.Max(lag, stage.Lag);
            }
        }

        return lag;
    }

    public void Dispose()
    {
        _stop.Set();
        _thread.Join();
    }
}
