using System.Globalization;
using System.Text;
using EventDaemon.Stages.Aggregation;

namespace EventDaemon.Stages.Tests.Aggregation;

/// <summary>One group-by value as a reader of the output sees it: absent/null, a string, or a raw JSON number.</summary>
internal readonly record struct GroupValue(char Kind, string Text)
{
    public static readonly GroupValue Null = new('n', "");

    public static GroupValue Str(string s) => new('s', s);

    public static GroupValue Raw(string token) => new('r', token);

    public override string ToString() => Kind switch { 'n' => "null", 's' => $"\"{Text}\"", _ => Text };
}

/// <summary>A generated event: what the reference model reads, and the JSON line the handler reads.</summary>
internal sealed record ModelEvent(long Ts, GroupValue[] Group, double? Value, string Json);

/// <summary>What the reference expects one output line to say.</summary>
internal sealed record ExpectedLine(int Step, long WindowStart, GroupValue[] Group, long Count, List<double> Values, double Sum);

/// <summary>
/// The aggregate as simply as it can be written: dictionaries and lists, exact quantiles from
/// sorted values. It follows the handler's documented rules step by step (window alignment, late
/// events, watermark, max_groups, open-window bound, emission order), so a differential test can
/// compare every line and the step that published it.
/// </summary>
internal sealed class ReferenceAggregate
{
    private readonly AggregateSpec _spec;
    private readonly SortedDictionary<long, Window> _open = [];
    private long _closedBefore = long.MinValue;
    private long _watermark = long.MinValue;
    private int _alive;

    public ReferenceAggregate(AggregateSpec spec)
    {
        _spec = spec;
    }

    public List<ExpectedLine> Emitted { get; } = [];

    public long Late { get; private set; }

    public long Dropped { get; private set; }

    public int Alive => _alive;

    /// <summary>An event at <paramref name="step"/>; <paramref name="now"/> is the processing-time clock of its batch.</summary>
    public void OnEvent(ModelEvent e, int step, long now, bool endOfBatch)
    {
        long window = _spec.WindowNanos;
        long time = _spec.EventTime ? e.Ts : now;
        long start = Floor(time, window);
        if (!_spec.EventTime)
        {
            start = Math.Max(start, _closedBefore);
            CloseUpTo(time, step);
        }

        if (start < _closedBefore)
        {
            Late++;
            return;
        }

        Fold(e, start);

        if (_spec.EventTime && e.Ts - _spec.LatenessNanos > _watermark)
        {
            _watermark = e.Ts - _spec.LatenessNanos;
            CloseUpTo(_watermark, step);
        }

        if (endOfBatch && !_spec.EventTime)
        {
            CloseUpTo(now, step);
        }
    }

    public void OnTimeout(int step, long now)
    {
        if (!_spec.EventTime)
        {
            CloseUpTo(now, step);
        }
    }

    public void Drain(int step)
    {
        foreach (long start in _open.Keys.ToList())
        {
            EmitWindow(start, step);
        }
    }

    private void Fold(ModelEvent e, long start)
    {
        if (!_open.TryGetValue(start, out Window? w))
        {
            if (_open.Count == AggregateSpec.MaxOpenWindows)
            {
                Dropped++;
                return;
            }

            w = new Window();
            _open[start] = w;
        }

        string id = string.Join("|", e.Group.Select(g => g.Kind + g.Text));
        if (!w.ByKey.TryGetValue(id, out Group? g))
        {
            if (_alive == _spec.MaxGroups)
            {
                Dropped++;
                return;
            }

            g = new Group(e.Group);
            w.ByKey[id] = g;
            w.Order.Add(g);
            _alive++;
        }

        g.Count++;
        if (e.Value is { } v)
        {
            g.Sum += v;
            g.Values.Add(v);
        }
    }

    private void CloseUpTo(long time, int step)
    {
        long window = _spec.WindowNanos;
        foreach (long start in _open.Keys.Where(s => s + window <= time).ToList())
        {
            EmitWindow(start, step);
        }

        _closedBefore = Math.Max(_closedBefore, Floor(time, window));
    }

    private void EmitWindow(long start, int step)
    {
        Window w = _open[start];
        _open.Remove(start);
        foreach (Group g in w.Order)
        {
            Emitted.Add(new ExpectedLine(step, start, g.Key, g.Count, g.Values, g.Sum));
            _alive--;
        }
    }

    public static long Floor(long time, long window)
    {
        long r = time % window;
        return time - (r < 0 ? r + window : r);
    }

    /// <summary>The exact quantile: the value at rank ⌈q·n⌉ (at least 1) of the sorted values.</summary>
    public static double ExactQuantile(List<double> values, double q)
    {
        var sorted = values.ToList();
        sorted.Sort();
        long rank = Math.Max(1, (long)Math.Ceiling(q * sorted.Count));
        return sorted[(int)rank - 1];
    }

    /// <summary>A JSON string literal for <paramref name="s"/>; <paramref name="escapeFirst"/> spells its first character as <c>\uXXXX</c>.</summary>
    public static string JsonString(string s, bool escapeFirst)
    {
        var b = new StringBuilder("\"");
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (i == 0 && escapeFirst)
            {
                b.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else if (c == '"' || c == '\\')
            {
                b.Append('\\').Append(c);
            }
            else if (c < 0x20)
            {
                b.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                b.Append(c);
            }
        }

        return b.Append('"').ToString();
    }

    private sealed class Window
    {
        public Dictionary<string, Group> ByKey { get; } = new(StringComparer.Ordinal);

        public List<Group> Order { get; } = [];
    }

    private sealed class Group(GroupValue[] key)
    {
        public GroupValue[] Key { get; } = key;

        public long Count;

        public double Sum;

        public List<double> Values { get; } = [];
    }
}
