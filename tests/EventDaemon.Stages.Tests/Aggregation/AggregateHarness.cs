using System.Text;
using EventDaemon.Events;
using EventDaemon.Events.Ingest;
using EventDaemon.Stages.Aggregation;
using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;
using EventDaemon.Stages.Tests.Transforms;

namespace EventDaemon.Stages.Tests.Aggregation;

/// <summary>One line the aggregate published, with the step (call into the handler) that published it.</summary>
internal readonly record struct OutputLine(int Step, string Json, EventSlot Slot);

/// <summary>
/// Drives an <see cref="AggregateHandler"/> on the test thread: events go into an input ring and
/// are handed to <c>OnEvent</c> one by one; every line the handler publishes into its output ring
/// is read back after each call, tagged with the call's step. The processing-time clock is
/// <see cref="Clock"/>.
/// </summary>
internal sealed class AggregateHarness : IDisposable
{
    // Mutable struct: the handler is called in place, as its processor would.
    private AggregateHandler _handler;
    private long _read = -1;
    private bool _drained;

    /// <param name="progress">What a journal would attach: the handler reports its emitted windows there and reads it at its first event.</param>
    /// <param name="inputSlots">The input ring's slots: how many distinct events can be appended once and delivered again and again.</param>
    public AggregateHarness(AggregateSpec spec, int outputSlots = 16_384, AggregateProgress? progress = null, int inputSlots = 1024)
    {
        Spec = spec;
        Input = new TestRing(inputSlots, inputSlots * 1024L);
        Output = new EventRing(outputSlots, 8 << 20, lockMemory: false, notifyOnPublish: false);
        Metrics = new StageMetrics("agg", "transform") { Type = "aggregate" };
        _handler = new AggregateHandler(Input.Ring.Reader, Output, spec, new Reach(SourceMask: 1, PassMask: 0), Metrics, () => Clock, progress: progress);
        _handler.OnStart();
    }

    public AggregateSpec Spec { get; }

    public TestRing Input { get; }

    public EventRing Output { get; }

    public StageMetrics Metrics { get; }

    /// <summary>The processing-time clock, Unix nanoseconds.</summary>
    public long Clock { get; set; }

    /// <summary>Calls into the handler so far; the step of the next call.</summary>
    public int Step { get; private set; }

    public List<OutputLine> Lines { get; } = [];

    public int OpenGroups => _handler.OpenGroups;

    public int OpenWindows => _handler.OpenWindows;

    public int IndexRebuilds => _handler.IndexRebuilds;

    /// <summary>Appends one JSON event and hands it to the handler.</summary>
    public void Push(string json, bool endOfBatch = true, ushort sourceId = 0, long defaultTimestamp = 0)
    {
        long sequence = Input.AppendJson(json, sourceId, defaultTimestamp);
        Deliver(sequence, endOfBatch);
    }

    /// <summary>Hands an already appended slot to the handler.</summary>
    public void Deliver(long sequence, bool endOfBatch = true)
    {
        _handler.OnEvent(ref Input[sequence], sequence, endOfBatch);
        Collect();
    }

    /// <summary>Hands a slot to the handler without reading its output (for allocation measurements).</summary>
    public void DeliverUncollected(long sequence, bool endOfBatch) => _handler.OnEvent(ref Input[sequence], sequence, endOfBatch);

    public void Timeout()
    {
        _handler.OnTimeout(Input.Cursor);
        Collect();
    }

    /// <summary>Shuts the handler down (drain: every open window is emitted) and frees its table.</summary>
    public void Drain()
    {
        _handler.OnShutdown();
        _drained = true;
        Collect();
    }

    private void Collect()
    {
        long cursor = Output.Sequencer.Cursor.Value;
        if (cursor - _read > Output.Capacity)
        {
            throw new InvalidOperationException($"one step published {cursor - _read} lines, more than the output ring's {Output.Capacity} slots: make the ring larger");
        }

        for (long s = _read + 1; s <= cursor; s++)
        {
            ref EventSlot slot = ref Output.Slots[s];
            Lines.Add(new OutputLine(Step, Encoding.UTF8.GetString(Output.Payload(ref slot)), slot));
        }

        _read = cursor;
        Step++;
    }

    public void Dispose()
    {
        if (!_drained)
        {
            _handler.OnShutdown();
        }

        Input.Dispose();
        Output.Dispose();
    }
}
