using System.Text;
using EventDaemon.Daemon.Sinks;
using EventDaemon.Events;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Fields;
using EventDaemon.Events.Ingest;
using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;
using EventDaemon.Stages.Transforms;
using Xunit;

namespace EventDaemon.Daemon.Tests.Sinks;

/// <summary>What a sink writes behind enrich stages: every matching stage's columns, in the order
/// the event met the stages, on JSON lines and on binary frames rendered as JSON.</summary>
public sealed class EnrichColumnsTests : IDisposable
{
    private static readonly Reach FromSourceZero = new(SourceMask: 1, PassMask: 0);
    private readonly EventRing _ring = new(16, 1 << 16, lockMemory: false, notifyOnPublish: false);

    public void Dispose() => _ring.Dispose();

    private static EnrichTable Table(string csv) => EnrichTable.Parse(Encoding.UTF8.GetBytes(csv), "test.csv", null, []);

    private EnrichHandler Enrich(string field, string csv, int bit) =>
        new(_ring.Reader, FieldSelector.Parse(field), Table(csv), FromSourceZero, bit, new StageMetrics(field, "transform") { Type = "enrich" });

    private long Append(ref EventSlot slot, byte[] payload)
    {
        using (IngestBatch batch = _ring.BeginBatch())
        {
            Assert.True(batch.TryAppend(ref slot, payload, wait: false), "an empty ring has room");
        }

        return _ring.Sequencer.Cursor.Value;
    }

    private long AppendJson(string json)
    {
        byte[] line = Encoding.UTF8.GetBytes(json);
        var slot = default(EventSlot);
        Assert.True(JsonEventParser.TryParse(line, ref slot, out InvalidReason reason), $"test event rejected ({reason}): {json}");
        return Append(ref slot, line);
    }

    private string Write(EnrichColumns columns, long sequence)
    {
        ref EventSlot slot = ref _ring.Slots[sequence];
        var buffer = new byte[EventJson.MaxLength(ref slot) + columns.MaxExtra];
        int n = columns.Write(ref slot, sequence, _ring.Payload(ref slot), buffer);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    private static void Expect(string line, string written, string what) =>
        Assert.True(written == line + "\n", $"{what}: expected {line}, wrote {written.TrimEnd('\n')}");

    [Fact]
    public void TwoEnrichStages_EachAddTheirColumns_InTheOrderTheEventMetThem()
    {
        EnrichHandler users = Enrich(".user", "id,name\nu1,Anna\n", 1);
        EnrichHandler places = Enrich(".place", "id,city\np1,Oslo\n", 2);
        long both = AppendJson("""{"user":"u1","place":"p1"}""");
        long placeOnly = AppendJson("""{"user":"u9","place":"p1"}""");
        long neither = AppendJson("""{ }""");
        foreach (long s in new[] { both, placeOnly, neither })
        {
            users.OnEvent(ref _ring.Slots[s], s, true);
            places.OnEvent(ref _ring.Slots[s], s, true);
        }

        var columns = new EnrichColumns([users, places]);
        Expect("""{"user":"u1","place":"p1","name":"Anna","city":"Oslo"}""", Write(columns, both), "both stages matched: users' columns, then places'");
        Expect("""{"user":"u9","place":"p1","city":"Oslo"}""", Write(columns, placeOnly), "only the second stage matched");
        Expect("{ }", Write(columns, neither), "no stage matched: the original line");
    }

    [Fact]
    public void ABinaryFrame_IsEnrichedLikeAJsonEvent()
    {
        EnrichHandler users = Enrich("key", "id,name\nu1,Anna\n", 1);
        byte[] payload = [.. "FRAMEt"u8, .. "u1"u8];
        var slot = new EventSlot
        {
            Timestamp = 7,
            Flags = EventFlags.Binary | EventFlags.HasTimestamp | EventFlags.HasType | EventFlags.HasKey,
            TypeOffset = 5,
            TypeLength = 1,
            KeyOffset = 6,
            KeyLength = 2,
            Aux = payload.Length,
        };
        long s = Append(ref slot, payload);
        users.OnEvent(ref _ring.Slots[s], s, true);

        Expect("""{"ts":7,"type":"t","key":"u1","name":"Anna"}""", Write(new EnrichColumns([users]), s), "a matched binary frame: its JSON rendering plus the columns");
    }
}
