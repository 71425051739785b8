using System.Runtime.CompilerServices;
using EventDaemon.Events;
using EventDaemon.Events.Fields;
using EventDaemon.Events.Ingest;
using EventDaemon.Ring;
using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;

namespace EventDaemon.Stages.Transforms;

/// <summary>
/// The <c>enrich</c> transform: looks each event's field up in a CSV table and, on a hit, records
/// the row in its <see cref="EnrichRows"/> so that sinks downstream add the row's columns to the
/// event's line. Counts hits and misses (<c>enrich_hits_total</c>, <c>enrich_misses_total</c>).
/// Every event that reaches it passes, hit or miss; its bit in <see cref="EventSlot.Marks"/> is set
/// only on events that did not reach it, so stages reading this transform see exactly the events
/// that went through it.
/// </summary>
/// <remarks>
/// <para>The row goes to the stage's own side array (<see cref="EnrichRows"/>), not into the slot:
/// JSON and binary events are enriched alike, and several enrich stages may read one ring, each
/// adding its columns.</para>
/// <para>The field's value is matched by its text (<see cref="FieldSelector"/>): a string
/// unescaped, a number by its JSON token (<c>42</c> matches the CSV key <c>42</c>). An event
/// without the field is a miss.</para>
/// </remarks>
public struct EnrichHandler : IEventHandler<EventSlot>
{
    private readonly EventReader _ring;
    private readonly Partition _partition;
    private readonly FieldSelector _field;
    private readonly EnrichTable _table;
    private readonly Reach _reach;
    private readonly ulong _bit;
    private readonly StageMetrics _metrics;
    private readonly EnrichRows _rows;

    /// <param name="rows">Where the matched rows go: one per stage, shared by its threads when it is
    /// split; by default a new one sized like the ring.</param>
    public EnrichHandler(EventReader ring, FieldSelector field, EnrichTable table, Reach reach, int markBit, StageMetrics metrics,
        Partition partition = default, EnrichRows? rows = null)
    {
        ArgumentNullException.ThrowIfNull(field);
        ArgumentNullException.ThrowIfNull(table);
        _ring = ring;
        _partition = partition.In(ring.Catalog);
        _field = field.In(ring.Catalog);
        _table = table;
        _reach = reach;
        _bit = 1UL << markBit;
        _metrics = metrics;
        _rows = rows ?? new EnrichRows(ring.Capacity);
        if (_rows.Capacity != ring.Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(rows), _rows.Capacity, $"sized for another ring: this one has {ring.Capacity} slots");
        }
    }

    public readonly EnrichTable Table => _table;

    /// <summary>The rows this stage matched, by sequence, for the sinks after it.</summary>
    public readonly EnrichRows Rows => _rows;

    public readonly void OnStart()
    {
    }

    [SkipLocalsInit]
    public readonly void OnEvent(ref EventSlot slot, long sequence, bool endOfBatch)
    {
        if (_partition.Skips(_ring, ref slot, sequence))
        {
            return; // another thread of this stage takes it
        }

        if (!_reach.Delivers(ref slot))
        {
            // Atomic: stages that run in parallel on the same slot own different bits of one word.
            Interlocked.Or(ref slot.Marks, _bit);
            _rows.Set(sequence, -1);
            return;
        }

        ref StageCounters counters = ref _metrics.Counters;
        Volatile.Write(ref counters.Processed, counters.Processed + 1);
        var view = _ring.View(ref slot, sequence);
        ReadOnlySpan<byte> payload = view.Payload;
        int row = -1;
        if (_field.TryLocate(in view, out int offset, out int length, out bool escaped))
        {
            Span<byte> scratch = stackalloc byte[FieldSelector.ScratchBytes];
            row = _table.Find(FieldSelector.Text(payload, offset, length, escaped, scratch));
        }

        // Every sequence, hit or miss: the cell still holds the row of the event a lap ago.
        _rows.Set(sequence, row);
        if (row >= 0)
        {
            Volatile.Write(ref counters.EnrichHits, counters.EnrichHits + 1);
        }
        else
        {
            Volatile.Write(ref counters.EnrichMisses, counters.EnrichMisses + 1);
        }

        _metrics.Latency.RecordSampled(sequence, endOfBatch, slot.IngestNanos);
    }

    public readonly void OnTimeout(long sequence)
    {
    }

    public readonly void OnShutdown()
    {
    }
}
