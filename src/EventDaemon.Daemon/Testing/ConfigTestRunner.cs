using System.Numerics;
using System.Text;
using System.Text.Json;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Runtime;
using EventDaemon.Daemon.Sources;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Ingest;
using EventDaemon.Ring;

namespace EventDaemon.Daemon.Testing;

/// <summary>
/// Runs one <see cref="ConfigTest"/> on the real stage code: the config's graph, cut down to the
/// watched transform and what feeds it, is built by <see cref="PipelineBuilder"/> on a small ring
/// of its own; the test's events go in through the same ingest path a TCP connection uses, and
/// what the transform emits is caught by an in-memory sink. No socket, file or sink of the config
/// is opened.
/// </summary>
/// <remarks>
/// <para>
/// Time is the test's, never the clock's: every aggregate runs on event time (a
/// <c>time = "processing"</c> one included), so window boundaries come from the events' <c>ts</c>,
/// and whatever windows are still open when the inputs end are flushed, as a drain flushes them.
/// </para>
/// <para>
/// Conditions are checked by the expression code filters use: each becomes a filter placed after
/// the watched transform in the test's graph, and an event fails the condition when that filter
/// drops it.
/// </para>
/// </remarks>
public static class ConfigTestRunner
{
    /// <summary>Enough slots for any test written by hand; a test's inputs wait for room beyond it.</summary>
    private const int RingSlots = 4096;

    private static readonly TimeSpan HaltTimeout = TimeSpan.FromSeconds(30);

    public static TestResult Run(EventdConfig config, ConfigTest test)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(test);
        var capture = new CaptureTransport();
        var checks = new CaptureTransport[test.Conditions.Count];
        EventdConfig cut = CutDown(config, test, capture, checks);
        DaemonSettings daemon = cut.Daemon;
        long arena = (long)BitOperations.RoundUpToPowerOf2((ulong)Math.Max(4L << 20, 4L * daemon.MaxEventBytes));
        // The pipeline owns the ring from here: disposing it releases both.
        var ring = new EventRing(RingSlots, arena, lockMemory: false, notifyOnPublish: true);
        using var pipeline = new Pipeline(cut, ring, new BadInputLog(16));
        var ids = new Dictionary<string, ushort>(StringComparer.Ordinal);
        foreach (SourceConfig source in cut.Topology.Sources)
        {
            ids[source.Name] = (ushort)ids.Count;
        }

        pipeline.SourceIds = ids;
        pipeline.Use(PipelineBuilder.BuildGraph(ring, cut, ids));
        pipeline.StartGraphs(Sequence.InitialValue);
        foreach (TestInput input in test.Inputs)
        {
            Feed(ring, pipeline, new Metrics.SourceMetrics(input.Source, ids[input.Source]), input.Events, daemon.MaxEventBytes);
        }

        // Halting lets every stage finish what was published; an aggregate flushes its open windows
        // and its downstream graph (the capture) finishes those before it halts in turn.
        if (!pipeline.HaltGraphs(HaltTimeout))
        {
            return new TestResult(test, false, [], [$"the pipeline did not finish the test's events within {HaltTimeout.TotalSeconds:0} s"]);
        }

        List<string> got = capture.Lines();
        var failures = new List<string>();
        Compare(test, got, failures);
        for (int i = 0; i < checks.Length; i++)
        {
            var passed = new List<string>(checks[i].Lines());
            foreach (string line in got)
            {
                if (!passed.Remove(line))
                {
                    failures.Add($"condition '{test.Conditions[i]}' is false for: {line}");
                }
            }
        }

        return new TestResult(test, failures.Count == 0, got, failures);
    }

    /// <summary>The config's sources, the transforms the watched one depends on (aggregates on event time), a capture sink after it and a filter plus capture per condition.</summary>
    private static EventdConfig CutDown(EventdConfig config, ConfigTest test, CaptureTransport capture, CaptureTransport[] checks)
    {
        int dot = test.From.IndexOf('.', StringComparison.Ordinal);
        string watched = dot < 0 ? test.From : test.From[..dot];
        string? output = dot < 0 ? null : test.From[(dot + 1)..];
        var needed = new HashSet<string>(StringComparer.Ordinal) { watched };
        List<TopologyStage> stages = [];
        for (int i = config.Topology.Stages.Count - 1; i >= 0; i--)
        {
            TopologyStage stage = config.Topology.Stages[i];
            if (stage.Kind == ComponentKind.Transform && needed.Contains(stage.Name))
            {
                foreach (StageInput input in stage.Upstream)
                {
                    needed.Add(input.Component);
                }

                stages.Insert(0, stage with { Config = OnTestTime(stage.Config) });
            }
        }

        ConfigPosition at = test.Position;
        var watchedInput = EquatableArray.Create<StageInput>([new(watched, ComponentKind.Transform, output)]);
        var capturing = new CaptureSinkConfig("_test_output", at, EquatableArray.Create<string>([test.From]), capture);
        var sinks = new List<TopologyStage> { new(capturing, watchedInput) };
        for (int i = 0; i < test.Conditions.Count; i++)
        {
            checks[i] = new CaptureTransport();
            var filter = new FilterTransformConfig($"_test_condition_{i}", at, EquatableArray.Create<string>([test.From]), test.Conditions[i]);
            var check = new CaptureSinkConfig($"_test_condition_{i}_output", at, EquatableArray.Create<string>([filter.Name]), checks[i]);
            stages.Add(new TopologyStage(filter, watchedInput));
            sinks.Add(new TopologyStage(check, EquatableArray.Create<StageInput>([new(filter.Name, ComponentKind.Transform, null)])));
        }

        IEnumerable<TransformConfig> transforms = stages.Select(s => s.Config).OfType<TransformConfig>();
        IEnumerable<SinkConfig> sinkConfigs = sinks.Select(s => s.Config).OfType<SinkConfig>();
        stages.AddRange(sinks);
        var topology = new Topology(config.Topology.Sources, stages, new HashSet<string>(StringComparer.Ordinal));

        // No pinning, no locked memory, threads that park when idle: a test shares the machine.
        DaemonSettings daemon = config.Daemon with
        {
            RingSize = RingSlots,
            ConsumerCpus = EquatableArray<int>.Empty,
            LockMemory = false,
            WaitStrategy = WaitStrategyKind.Blocking,
            IdleHandoff = false,
        };
        return new EventdConfig(config.SourceName, daemon, config.Sources, new ComponentMap<TransformConfig>(transforms), new ComponentMap<SinkConfig>(sinkConfigs), topology);
    }

    private static StageConfig OnTestTime(StageConfig stage) =>
        stage is AggregateTransformConfig { Time: AggregateTime.Processing } aggregate
            ? aggregate with { Time = AggregateTime.Event, AllowedLateness = Duration.Zero }
            : stage;

    /// <summary>The events, one JSON line each, through the ingest a stream connection uses.</summary>
    private static void Feed(EventRing ring, Pipeline pipeline, Metrics.SourceMetrics metrics, IReadOnlyList<string> events, int maxEventBytes)
    {
        byte[] text = Encoding.UTF8.GetBytes(string.Concat(events.Select(e => e + "\n")));
        var ingest = new StreamIngest(ring, metrics, pipeline.Errors, SourceFormat.Json, maxEventBytes, pauseWhenFull: false);
        var buffers = new IngestBuffers(Math.Max(text.Length, 1), maxEventBytes);
        text.CopyTo(buffers.Read, 0);
        ingest.Feed(buffers, text.Length);
        ingest.Complete(buffers);
    }

    private static void Compare(ConfigTest test, List<string> got, List<string> failures)
    {
        if (test.Count is { } count && got.Count != count)
        {
            failures.Add($"expected {count} events out of '{test.From}', got {got.Count}");
        }

        if (test.Expected.Count == 0)
        {
            return;
        }

        bool same = got.Count == test.Expected.Count;
        for (int i = 0; same && i < got.Count; i++)
        {
            same = Matches(test.Expected[i], got[i]);
        }

        if (same)
        {
            return;
        }

        var diff = new StringBuilder();
        diff.Append("outputs of '").Append(test.From).Append("' differ (- expected, + got; an expected event is compared on the fields it names):");
        for (int i = 0; i < Math.Max(got.Count, test.Expected.Count); i++)
        {
            if (i < got.Count && i < test.Expected.Count && Matches(test.Expected[i], got[i]))
            {
                diff.Append("\n    ").Append(got[i]);
                continue;
            }

            if (i < test.Expected.Count)
            {
                diff.Append("\n  - ").Append(test.Expected[i]);
            }

            if (i < got.Count)
            {
                diff.Append("\n  + ").Append(got[i]);
            }
        }

        failures.Add(diff.ToString());
    }

    /// <summary>Every field of <paramref name="expected"/> is in <paramref name="actual"/> with an equal value (numbers by value: 10 equals 10.0).</summary>
    internal static bool Matches(string expected, string actual)
    {
        try
        {
            using JsonDocument e = JsonDocument.Parse(expected);
            using JsonDocument a = JsonDocument.Parse(actual);
            if (a.RootElement.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            foreach (JsonProperty field in e.RootElement.EnumerateObject())
            {
                if (!a.RootElement.TryGetProperty(field.Name, out JsonElement value) || !SameValue(field.Value, value))
                {
                    return false;
                }
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool SameValue(JsonElement x, JsonElement y) =>
        x.ValueKind == JsonValueKind.Number && y.ValueKind == JsonValueKind.Number
            ? x.GetDouble() == y.GetDouble()
            : JsonElement.DeepEquals(x, y);
}

/// <summary>What one test found: whether it passed, what the watched transform emitted, and each failure as text.</summary>
public sealed record TestResult(ConfigTest Test, bool Passed, IReadOnlyList<string> Got, IReadOnlyList<string> Failures);
