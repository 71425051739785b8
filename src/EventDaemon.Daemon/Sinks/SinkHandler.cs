using System.Diagnostics;
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

    public SinkHandler(EventReader ring, Reach reach, StageMetrics metrics, TTransport transport, SinkBuffer buffer, SinkAbandon abandon,
        EnrichColumns? enrich = null)
    {
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
        if (_reach.Delivers(ref slot))
        {
            ref StageCounters counters = ref _metrics.Counters;
            Volatile.Write(ref counters.Processed, counters.Processed + 1);
            Append(ref slot);
        }

        if (endOfBatch && !_buffer.IsEmpty)
        {
            Flush(mayHandBack: true);
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

        _transport.Tick(Stopwatch.GetTimestamp());
    }

    public void OnShutdown()
    {
        Flush();
        _transport.Close();
    }

    private void Append(ref EventSlot slot)
    {
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
        int written = _enrich is null
            ? EventJson.Write(ref slot, payload, _buffer.Free)
            : _enrich.Write(ref slot, payload, _buffer.Free);
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
        ReadOnlySpan<byte> bytes = _buffer.Bytes.AsSpan(0, _buffer.Length);
        while (!_transport.TryWrite(bytes, out string? error))
        {
            ref StageCounters c = ref _metrics.Counters;
            Volatile.Write(ref c.Errors, c.Errors + 1);
            _metrics.LastError = error ?? "write failed";
            if (mayHandBack && StageHandoff.TryHandBack())
            {
                return;
            }

            if (_abandon.IsAbandoned)
            {
                // Given up (drain timed out, or a reload replaces this sink): counted, not silent.
                Volatile.Write(ref c.DroppedMaxGroups, c.DroppedMaxGroups + _buffer.Count);
                _buffer.Clear();
                return;
            }

            Thread.Sleep(backoffMs);
            backoffMs = Math.Min(backoffMs * 2, MaxBackoffMs);
        }

        if (_metrics.LastError is not null)
        {
            _metrics.LastError = null;
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
}
