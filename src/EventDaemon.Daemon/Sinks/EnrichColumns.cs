using EventDaemon.Events;
using EventDaemon.Ring;
using EventDaemon.Ring.Waiting;
using EventDaemon.Stages.Transforms;

namespace EventDaemon.Daemon.Sinks;

/// <summary>
/// How a sink downstream of an <c>enrich</c> transform writes events: a JSON event the enrich
/// stage matched (its row in <see cref="EventSlot.Aux"/>) gets the row's columns as its last
/// members; every other event is written by <see cref="EventJson"/> as before (SPEC §3: "its
/// original JSON line (plus enrich columns)").
/// </summary>
/// <remarks>
/// A sink may use this only when the enrich stage is upstream of it (<see cref="Upstream{TWait}"/>):
/// then the enrich stage has finished with every slot the sink reads, and <c>Aux</c> is stable.
/// The table is the one the enrich stage of the same graph loaded, so rows always match.
/// </remarks>
public sealed class EnrichColumns
{
    private readonly EnrichTable _table;

    public EnrichColumns(EnrichTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        _table = table;
    }

    /// <summary>Bytes a line can grow by: add to <see cref="EventJson.MaxLength"/> for buffer checks.</summary>
    public int MaxExtra => _table.MaxRenderedLength;

    /// <summary>Writes the event's line (enriched when its slot names a row) and returns its length, newline included.</summary>
    public int Write(ref readonly EventSlot slot, ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        int row = EnrichHandler.RowOf(in slot);
        if ((uint)row >= (uint)_table.Rows)
        {
            return EventJson.Write(in slot, payload, destination);
        }

        int n = _table.WriteEnriched(payload, row, destination);
        destination[n] = (byte)'\n';
        return n + 1;
    }

    /// <summary>
    /// The enrich stage among <paramref name="after"/> (a sink's direct predecessors) and their
    /// predecessors, as columns for the sink to add; null when no enrich stage is upstream.
    /// </summary>
    /// <remarks>An enrich fused with other handlers into one stage is found as well.</remarks>
    public static EnrichColumns? Upstream(IEnumerable<Stage> after)
    {
        var seen = new HashSet<Stage>();
        var pending = new Stack<Stage>(after);
        while (pending.TryPop(out Stage? stage))
        {
            if (!seen.Add(stage))
            {
                continue;
            }

            if (stage.TryGetHandler(out EnrichHandler enrich))
            {
                return new EnrichColumns(enrich.Table);
            }

            foreach (Stage before in stage.DependsOn)
            {
                pending.Push(before);
            }
        }

        return null;
    }
}
