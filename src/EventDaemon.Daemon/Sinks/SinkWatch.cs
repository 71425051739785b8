using System.Diagnostics;
using System.Globalization;
using EventDaemon.Stages.Metrics;

namespace EventDaemon.Daemon.Sinks;

/// <summary>
/// Turns what sinks publish (<see cref="SinkCounters"/>, <see cref="StageMetrics.LastError"/>) into
/// log lines, once per episode: a peer that has not read for <see cref="BlockedAfter"/> and the end
/// of that stall, a destination that starts failing and its recovery, a reconnect that re-sent
/// events. Runs on the monitor's thread once a second, so the sink's thread never formats or logs;
/// <see cref="BlockedLine"/> gives <c>health</c> the same words.
/// </summary>
/// <remarks>
/// An episode shorter than the monitor's second may go unlogged (a failure followed at once by a
/// recovery): the counters (<c>sink_errors_total</c>, <c>sink_events_resent_total</c>) still have it,
/// and a resend is logged whenever the counter moved. A closed port that refuses every attempt is
/// one episode: logged at its first failure and at its recovery, not at every retry.
/// </remarks>
public sealed class SinkWatch(Action<string> info, Action<string> warning)
{
    /// <summary>
    /// 10 s: twice the stage stall threshold and twice the longest reconnect backoff, so a peer
    /// that pauses for a garbage collection or a restart is not reported as blocked.
    /// </summary>
    public static readonly TimeSpan BlockedAfter = TimeSpan.FromSeconds(10);

    private readonly Dictionary<StageMetrics, Episodes> _sinks = new(ReferenceEqualityComparer.Instance);

    // Reused: a check that logs nothing allocates nothing (the monitor's tick does not).
    private readonly List<StageMetrics> _gone = [];

    /// <summary>
    /// The <c>health</c> line for a sink whose peer has not read for <see cref="BlockedAfter"/> or
    /// longer; <c>null</c> otherwise. <paramref name="lag"/> is the sink stage's lag in the ring.
    /// </summary>
    public static string? BlockedLine(StageMetrics sink, long lag, long nowTimestamp)
    {
        long since = Volatile.Read(ref sink.Sink.BlockedSince);
        if (since == 0)
        {
            return null;
        }

        TimeSpan blocked = Stopwatch.GetElapsedTime(since, nowTimestamp);
        return blocked < BlockedAfter
            ? null
            : string.Create(CultureInfo.InvariantCulture,
                $"sink {sink.Name} blocked: peer has not read for {blocked.TotalSeconds:0} s ({Volatile.Read(ref sink.Sink.Pending)} events held by the sink, {lag} waiting in the ring)");
    }

    /// <summary>Logs what changed since the last call. <paramref name="lagOf"/> gives a stage's lag by name.</summary>
    public void Check(IReadOnlyList<StageMetrics> stages, Func<string, long> lagOf, long nowTimestamp)
    {
        for (int i = 0; i < stages.Count; i++)
        {
            StageMetrics m = stages[i];
            if (m.Kind != "sink")
            {
                continue;
            }

            if (!_sinks.TryGetValue(m, out Episodes? seen))
            {
                _sinks[m] = seen = new Episodes { ResentSeen = Volatile.Read(ref m.Sink.Resent), Checked = true };
            }

            seen.Checked = true;
            CheckBlocked(m, seen, lagOf(m.Name), nowTimestamp);
            CheckFailing(m, seen, nowTimestamp);
            long resent = Volatile.Read(ref m.Sink.Resent);
            if (resent != seen.ResentSeen)
            {
                info(string.Create(CultureInfo.InvariantCulture,
                    $"sink {m.Name}: reconnected; {resent - seen.ResentSeen} events of the interrupted batch sent again (sink_events_resent_total {resent})"));
                seen.ResentSeen = resent;
            }
        }

        // Sinks a reload removed: forget them, so the table stays as small as the config.
        foreach (KeyValuePair<StageMetrics, Episodes> pair in _sinks)
        {
            if (!pair.Value.Checked)
            {
                _gone.Add(pair.Key);
            }

            pair.Value.Checked = false;
        }

        foreach (StageMetrics gone in _gone)
        {
            _sinks.Remove(gone);
        }

        _gone.Clear();
    }

    private void CheckBlocked(StageMetrics m, Episodes seen, long lag, long now)
    {
        long since = Volatile.Read(ref m.Sink.BlockedSince);
        long pending = Volatile.Read(ref m.Sink.Pending);
        if (seen.BlockedSince != 0)
        {
            seen.MostWaiting = Math.Max(seen.MostWaiting, pending + lag);
            if (since == seen.BlockedSince)
            {
                return;
            }

            long unblocked = Volatile.Read(ref m.Sink.UnblockedAt);
            long end = unblocked > seen.BlockedSince ? unblocked : now;
            double seconds = Stopwatch.GetElapsedTime(seen.BlockedSince, end).TotalSeconds;
            long abandoned = m.Abandoned - seen.AbandonedBefore;
            info(abandoned > 0
                ? string.Create(CultureInfo.InvariantCulture,
                    $"sink {m.Name}: gave up its blocked batch after {seconds:0.0} s (drain timeout or reload); {abandoned} events abandoned")
                : string.Create(CultureInfo.InvariantCulture,
                    $"sink {m.Name}: peer reading again after {seconds:0.0} s blocked; up to {seen.MostWaiting} events waited (sources were pushed back meanwhile)"));
            seen.BlockedSince = 0;
        }

        if (since != 0 && Stopwatch.GetElapsedTime(since, now) >= BlockedAfter)
        {
            warning(string.Create(CultureInfo.InvariantCulture,
                $"sink {m.Name} blocked: peer has not read for {Stopwatch.GetElapsedTime(since, now).TotalSeconds:0} s; {pending} events held by the sink, {lag} waiting in the ring; sources are pushed back"));
            seen.BlockedSince = since;
            seen.MostWaiting = pending + lag;
            seen.AbandonedBefore = m.Abandoned;
        }
    }

    private void CheckFailing(StageMetrics m, Episodes seen, long now)
    {
        string? error = m.LastError;
        if (error is not null && seen.FailingSince == 0)
        {
            warning($"sink {m.Name} failing: {error} (logged once per episode; again when it recovers)");
            seen.FailingSince = now;
            seen.ErrorsBefore = Math.Max(0, m.Errors - 1);
        }
        else if (error is null && seen.FailingSince != 0)
        {
            info(string.Create(CultureInfo.InvariantCulture,
                $"sink {m.Name} recovered after {Stopwatch.GetElapsedTime(seen.FailingSince, now).TotalSeconds:0.0} s ({m.Errors - seen.ErrorsBefore} failed writes)"));
            seen.FailingSince = 0;
        }
    }

    /// <summary>What has been logged of one sink.</summary>
    private sealed class Episodes
    {
        /// <summary>The <see cref="SinkCounters.BlockedSince"/> of the stall logged as started; 0 = none.</summary>
        public long BlockedSince;

        public long MostWaiting;

        /// <summary>Events the sink had given up (<c>sink_abandoned</c>) when the stall was logged.</summary>
        public long AbandonedBefore;

        /// <summary>When the failure episode logged as started was first seen; 0 = none.</summary>
        public long FailingSince;

        public long ErrorsBefore;

        public long ResentSeen;

        /// <summary>Seen in the current call (else the sink is gone).</summary>
        public bool Checked;
    }
}
