using System.Diagnostics;
using System.Runtime.CompilerServices;
using EventDaemon.Daemon.Journal;
using EventDaemon.Daemon.Runtime;
using EventDaemon.Daemon.Sinks.Transports;
using EventDaemon.Events;
using EventDaemon.Events.Ingest;
using EventDaemon.Ring;
using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;

namespace EventDaemon.Daemon.Sinks;

/// <summary>
/// A sink stage: renders every event that reaches it into its buffer and hands the buffer to the
/// transport once per batch (or when full): one write per batch, not per event. A failing write
/// is retried with backoff while the stage holds its place in the ring: the ring fills behind it,
/// stream sources stop reading and senders are pushed back. Nothing is dropped and memory does not
/// grow; the failure shows in <c>sink_errors_total</c> and <c>health</c>. A batch a source's thread
/// runs under idle hand-off is not retried there: the stage is handed back to its own thread, which
/// retries it on its next turn, so a failing sink never holds a source's thread.
/// A destination that is alive but slow (<see cref="ISinkTransport.IsBlocked"/>) is backpressure,
/// not failure: no error is counted and no backoff added, the write resumes where it stopped, and
/// the sink publishes in <see cref="StageMetrics.Sink"/> since when it is blocked and how many events
/// it holds, which <c>health</c> and the monitor's log read (<see cref="SinkWatch"/>).
/// </summary>
public struct SinkHandler<TTransport> : IEventHandler<EventSlot>
    where TTransport : struct, ISinkTransport
{
    private const int MaxBackoffMs = 1000;

    private readonly EventReader _ring;
    private readonly Reach _reach;
    private readonly StageMetrics _metrics;
    private readonly SinkBuffer _buffer;
    private readonly SinkAbandon _abandon;

    /// <summary>Columns an upstream enrich stage matched, added to each line; null without enrich.</summary>
    private readonly EnrichColumns? _enrich;

    // Mutable struct: the transport keeps connection state, so not readonly.
    private TTransport _transport;

    /// <summary>The transport's <see cref="ISinkTransport.ResentEvents"/> already added to the sink's counter.</summary>
    private long _resentSeen;

    /// <summary>
    /// The buffer's batch was refused and handed back unwritten: it is written before another event
    /// joins it, because a transport may hold part of it (a tcp connection resumes mid-batch) or
    /// count it as re-sent, and a batch that grew in between would be neither.
    /// </summary>
    private bool _unfinished;

    /// <summary>With a journal, the sink's checkpoint: told which ring sequence each written batch reaches; null otherwise.</summary>
    private readonly SinkCheckpointer? _checkpoint;

    /// <summary>Every event up to this ring sequence is in the buffer, written, or not for this sink.</summary>
    private long _covered;

    /// <summary><c>eventd tap SINK</c>: each line the sink takes, as it renders it, while a client taps; null when untapped.</summary>
    private readonly StageTap? _tap;

    /// <summary>A file sink behind an aggregate: its checkpoint counts whole windows (<see cref="SinkCheckpointer.Windows"/>).</summary>
    private readonly bool _windows;

    /// <summary>Behind an aggregate: windows starting at or before this were delivered before the last stop.</summary>
    private readonly long _skipWindowsThrough;

    /// <summary>Behind an aggregate: the start of the latest window seen (its lines may still be arriving).</summary>
    private long _windowLast;

    /// <summary>Behind an aggregate: the start of the latest window seen whole (a later one began after it).</summary>
    private long _windowDone;

    /// <summary>Behind an aggregate: the buffer's bytes that belong to windows up to <see cref="_windowDone"/>;
    /// -1 when that boundary is not in the buffer (it was in one already handed to the checkpoint).</summary>
    private int _windowDoneBytes;

    public SinkHandler(EventReader ring, Reach reach, StageMetrics metrics, TTransport transport, SinkBuffer buffer, SinkAbandon abandon,
        EnrichColumns? enrich = null, SinkCheckpointer? checkpoint = null, StageTap? tap = null)
    {
        _tap = tap;
        _checkpoint = checkpoint;
        _covered = -1;
        _windows = checkpoint?.Windows ?? false;
        _skipWindowsThrough = checkpoint?.SkipWindowsThrough ?? long.MinValue;
        _windowLast = long.MinValue;
        _windowDone = long.MinValue;
        _windowDoneBytes = -1;
        _enrich = enrich;
        _ring = ring;
        _reach = reach;
        _metrics = metrics;
        _transport = transport;
        _buffer = buffer;
        _abandon = abandon;
    }

    public readonly void OnStart()
    {
    }

    public void OnEvent(ref EventSlot slot, long sequence, bool endOfBatch)
    {
        if (_windows && slot.Timestamp != _windowLast)
        {
            NextWindow(slot.Timestamp);
        }

        if (_reach.Delivers(ref slot) && (_checkpoint is null || (_windows ? slot.Timestamp > _skipWindowsThrough : sequence >= _checkpoint.SkipBelowRing)))
        {
            ref StageCounters counters = ref _metrics.Counters;
            Volatile.Write(ref counters.Processed, counters.Processed + 1);
            Append(ref slot, sequence);
        }

        // After Append: a flush it made to find room covered only the events before this one.
        _covered = sequence;

        if (endOfBatch)
        {
            if (!_buffer.IsEmpty)
            {
                Flush(mayHandBack: true);
            }
            else if (_checkpoint is not null && !_abandon.IsAbandoned)
            {
                Passed(_checkpoint);
            }
        }
    }

    /// <summary>
    /// Behind an aggregate: a window's first line. An aggregate on one thread emits its windows whole
    /// and in order of their start, so the one before is complete: its boundary in the buffer is where
    /// the checkpoint may point.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void NextWindow(long start)
    {
        if (_windowLast != long.MinValue)
        {
            _windowDone = _windowLast;
            _windowDoneBytes = _buffer.Length;
        }

        _windowLast = start;
    }

    /// <summary>Nothing is buffered: the checkpoint moves on with the file's offset.</summary>
    private void Passed(SinkCheckpointer checkpoint)
    {
        if (!_windows)
        {
            checkpoint.Passed(_covered);
        }
        else if (_windowDoneBytes >= 0)
        {
            checkpoint.PassedWindow(_windowDone);
            _windowDoneBytes = -1;
        }
    }

    public void OnTimeout(long sequence)
    {
        if (!_buffer.IsEmpty)
        {
            // A batch handed back by a source's thread: retried here, on the stage's own thread.
            Flush();
            return;
        }

        if (_checkpoint is not null && !_abandon.IsAbandoned)
        {
            Passed(_checkpoint);
        }

        _transport.Tick(Stopwatch.GetTimestamp());
    }

    public void OnShutdown()
    {
        Flush();
        if (!_abandon.IsAbandoned)
        {
            // Events given up on are not delivered: the checkpoint stays before them, so the next start replays them.
            if (_checkpoint is not null)
            {
                Passed(_checkpoint);
            }
        }

        _transport.Close();
    }

    private void Append(ref EventSlot slot, long sequence)
    {
        if (_unfinished)
        {
            Flush();
        }

        int needed = EventJson.MaxLength(ref slot) + (_enrich?.MaxExtra ?? 0);
        if (!_buffer.HasRoom(needed))
        {
            Flush();
            if (!_buffer.HasRoom(needed))
            {
                // Larger than the whole buffer: cannot happen for events within max_event_bytes,
                // since buffers are sized from it; counted as an error rather than crashing.
                ref StageCounters c = ref _metrics.Counters;
                Volatile.Write(ref c.Errors, c.Errors + 1);
                return;
            }
        }

        ReadOnlySpan<byte> payload = _ring.Payload(ref slot);
        Span<byte> free = _buffer.Free;
        int written = _enrich is null
            ? EventJson.Write(ref slot, payload, free)
            : _enrich.Write(ref slot, sequence, payload, free);
        if (_tap is not null && _tap.Attached)
        {
            // Before the transport: the line as rendered, whether or not the write then succeeds.
            _tap.OfferLine(free[..written]);
        }

        _buffer.Commit(written, slot.IngestNanos);
    }

    /// <param name="mayHandBack">At the end of a batch, where the buffered events may stay buffered:
    /// a failing write on a source's thread hands the stage back instead of waiting. Not when the
    /// buffer must make room for an event.</param>
    private void Flush(bool mayHandBack = false)
    {
        if (_buffer.IsEmpty)
        {
            return;
        }

        if (mayHandBack && !_transport.IsReady && StageHandoff.TryHandBack())
        {
            // Connecting may take seconds: that waiting is the stage's own thread's.
            return;
        }

        int backoffMs = 10;
        _checkpoint?.Batch(_covered);
        if (_windowDoneBytes >= 0)
        {
            _checkpoint!.BatchWindows(_windowDone, _windowDoneBytes, _buffer.Length);
        }

        ReadOnlySpan<byte> bytes = _buffer.Bytes.AsSpan(0, _buffer.Length);
        while (!_transport.TryWrite(bytes, out string? error))
        {
            if (_transport.IsBlocked)
            {
                // Backpressure, not failure: the destination is alive and slow. TryWrite waited
                // its slice; the write resumes where it stopped, so there is no backoff to add.
                NoteBlocked();
            }
            else
            {
                ref StageCounters c = ref _metrics.Counters;
                Volatile.Write(ref c.Errors, c.Errors + 1);
                _metrics.LastError = error ?? "write failed";
                NoteHeld();
            }

            if (mayHandBack && StageHandoff.TryHandBack())
            {
                _unfinished = true;
                return;
            }

            if (_abandon.IsAbandoned)
            {
                // Given up (drain timed out, or a reload replaces this sink): counted, not silent.
                ref StageCounters c = ref _metrics.Counters;
                Volatile.Write(ref c.Abandoned, c.Abandoned + _buffer.Count);
                _buffer.Clear();
                _transport.GiveUp();
                _unfinished = false;
                Settled();
                return;
            }

            if (!_transport.IsBlocked)
            {
                Thread.Sleep(backoffMs);
                backoffMs = Math.Min(backoffMs * 2, MaxBackoffMs);
            }
        }

        _unfinished = false;
        _windowDoneBytes = -1;
        if (_metrics.LastError is not null)
        {
            _metrics.LastError = null;
        }

        if (_metrics.Sink.Pending != 0)
        {
            Settled();
        }

        // One clock read for the latencies and the transport's tick.
        long timestamp = Stopwatch.GetTimestamp();
        long now = MonotonicClock.ToNanos(timestamp);
        long[] ingest = _buffer.IngestNanos;
        for (int i = 0; i < _buffer.Count; i++)
        {
            _metrics.Latency.Record(now - ingest[i]);
        }

        ref StageCounters counters = ref _metrics.Counters;
        Volatile.Write(ref counters.Written, counters.Written + _buffer.Count);
        _buffer.Clear();
        _transport.Tick(timestamp);
    }

    /// <summary>
    /// A write is blocked: publishes since when and how many events wait in the batch, for
    /// <c>health</c> and the monitor's log lines (which are formatted there, not here).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void NoteBlocked()
    {
        ref SinkCounters sink = ref _metrics.Sink;
        long since = _transport.BlockedSince;
        if (Volatile.Read(ref sink.BlockedSince) != since)
        {
            Volatile.Write(ref sink.BlockedSince, since);
        }

        NoteHeld();
    }

    /// <summary>The batch is not written yet: its events are what the sink holds.</summary>
    private void NoteHeld()
    {
        ref SinkCounters sink = ref _metrics.Sink;
        if (sink.Pending != _buffer.Count)
        {
            Volatile.Write(ref sink.Pending, _buffer.Count);
        }

        TakeResent();
    }

    /// <summary>The batch was written or given up: nothing held, nothing blocked.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Settled()
    {
        ref SinkCounters sink = ref _metrics.Sink;
        if (sink.BlockedSince != 0)
        {
            Volatile.Write(ref sink.UnblockedAt, Stopwatch.GetTimestamp());
            Volatile.Write(ref sink.BlockedSince, 0);
        }

        Volatile.Write(ref sink.Pending, 0);
        TakeResent();
    }

    /// <summary>
    /// Adds what the transport re-sent since last time to <c>sink_events_resent_total</c>. A resend
    /// happens only after a failed write, so this runs only on the way out of one (never per batch).
    /// </summary>
    private void TakeResent()
    {
        ref SinkCounters sink = ref _metrics.Sink;
        long resent = _transport.ResentEvents;
        if (resent != _resentSeen)
        {
            Volatile.Write(ref sink.Resent, sink.Resent + resent - _resentSeen);
            _resentSeen = resent;
        }
    }
}
