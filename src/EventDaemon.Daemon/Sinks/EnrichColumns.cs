using EventDaemon.Events;
using EventDaemon.Ring;
using EventDaemon.Stages.Transforms;

namespace EventDaemon.Daemon.Sinks;

/// <summary>
/// How a sink downstream of <c>enrich</c> transforms writes events: an event an enrich stage
/// matched (its row in that stage's <see cref="EnrichRows"/>) gets the row's columns as its last
/// members, each upstream enrich adding its own, JSON and binary events alike; every other event
/// is written by <see cref="EventJson"/> as before (SPEC §3: "its original JSON line (plus enrich
/// columns)").
/// </summary>
/// <remarks>
/// A sink may use this only when the enrich stages are upstream of it (<see cref="Upstream"/>):
/// then they have finished with every sequence the sink reads, and their rows are stable.
/// The tables are the ones the enrich stages of the same graph loaded, so rows always match.
/// </remarks>
public sealed class EnrichColumns
{
    private readonly EnrichTable[] _tables;
    private readonly EnrichRows[] _rows;

    public EnrichColumns(IReadOnlyList<EnrichHandler> enrich)
    {
        ArgumentNullException.ThrowIfNull(enrich);
        _tables = [.. enrich.Select(e => e.Table)];
        _rows = [.. enrich.Select(e => e.Rows)];
        MaxExtra = _tables.Sum(t => t.MaxRenderedLength);
    }

    /// <summary>Bytes a line can grow by: add to <see cref="EventJson.MaxLength"/> for buffer checks.</summary>
    public int MaxExtra { get; }

    /// <summary>Writes the event's line (enriched by every stage that matched it) and returns its
    /// length, newline included.</summary>
    public int Write(ref readonly EventSlot slot, long sequence, ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        int n = EventJson.Write(in slot, payload, destination) - 1;
        bool added = false;
        for (int i = 0; i < _tables.Length; i++)
        {
            int row = _rows[i].RowOf(sequence);
            if ((uint)row < (uint)_tables[i].Rows)
            {
                n = _tables[i].AddColumns(destination, n, row);
                added = true;
            }
        }

        if (added)
        {
            destination[n] = (byte)'\n';
        }

        return n + 1;
    }

    /// <summary>
    /// The enrich stages among <paramref name="after"/> (a sink's direct predecessors) and their
    /// predecessors, furthest upstream first, as columns for the sink to add; null when no enrich
    /// stage is upstream.
    /// </summary>
    /// <remarks>Enrich steps fused with other handlers into one stage are found as well.</remarks>
    public static EnrichColumns? Upstream(IEnumerable<Stage> after)
    {
        var seen = new HashSet<Stage>();
        var found = new List<(int Depth, int Step, EnrichHandler Handler)>();
        var pending = new Stack<(Stage Stage, int Depth)>(after.Select(s => (s, 0)));
        while (pending.TryPop(out (Stage Stage, int Depth) next))
        {
            if (!seen.Add(next.Stage))
            {
                continue;
            }

            int step = 0;
            foreach (EnrichHandler enrich in next.Stage.Handlers<EnrichHandler>())
            {
                found.Add((next.Depth, step++, enrich));
            }

            foreach (Stage before in next.Stage.DependsOn)
            {
                pending.Push((before, next.Depth + 1));
            }
        }

        // Columns in the order the events met the stages: the deepest first, a fused stage's steps in order.
        return found.Count == 0
            ? null
            : new EnrichColumns([.. found.OrderByDescending(f => f.Depth).ThenBy(f => f.Step).Select(f => f.Handler)]);
    }
}
