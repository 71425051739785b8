using System.Text;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Metrics;
using EventDaemon.Daemon.Sources;
using EventDaemon.Events;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Fields;
using EventDaemon.Events.Ingest;
using EventDaemon.Ring;
using Xunit;

namespace EventDaemon.Daemon.Tests.Sources;

/// <summary>
/// A stream ingest never waits for room in the ring: it pauses, keeping what the ring refused and
/// the part of the read it had not framed, and resumes later with nothing lost, nothing appended
/// twice and the connection's order kept. A datagram ingest drops and counts instead.
/// </summary>
public sealed class StreamIngestTests
{
    private const int ReadBytes = 64 * 1024;

    [Fact]
    public void Feed_WhenTheRingFillsMidRead_PausesThenResumesWithEveryEventOnceInOrder()
    {
        // 1,000 lines in one read: the stage (512) flushes mid-read into a ring of 256, which
        // refuses, so framing stops inside the read; the end-of-read flush pauses again later.
        using var ring = new EventRing(slots: 256, arenaBytes: 1 << 20, lockMemory: false, notifyOnPublish: false);
        var consumer = new Sequence();
        ring.Sequencer.SetGatingSequences([consumer]);
        var metrics = new SourceMetrics("in", 1);
        var ingest = new StreamIngest(ring, metrics, new BadInputLog(), SourceFormat.Json, 1024, pauseWhenFull: true);
        var buffers = new IngestBuffers(ReadBytes, 1024);
        int length = Write(buffers, Lines(0, 1000, invalidEvery: 100) + "{\"value\":10");

        ingest.Feed(buffers, length);
        Assert.True(ingest.IsPaused, "1,000 events into a ring of 256 with no consumer did not pause the ingest");

        var seen = new List<long>();
        int resumes = 0;
        while (ingest.IsPaused)
        {
            Drain(ring, consumer, seen);
            ingest.Resume(out IngestBuffers? released);
            Assert.True(ingest.IsPaused || ReferenceEquals(released, buffers), "a resumed ingest did not hand back the buffers it kept");
            Assert.True(++resumes < 100, "the ingest stayed paused although the ring was emptied each time");
        }

        // The cut line at the end of the read is completed by the next one.
        length = Write(buffers, "01}\n");
        ingest.Feed(buffers, length);
        Drain(ring, consumer, seen);

        long[] expected = [.. Enumerable.Range(0, 1000).Where(i => i % 100 != 99).Select(i => (long)i), 1001];
        Assert.True(seen.SequenceEqual(expected),
            $"events lost, repeated or reordered across pauses: got {seen.Count} events, first difference at {FirstDifference(seen, expected)}");
        Assert.True(metrics.Received == expected.Length, $"events_received_total is {metrics.Received}, expected {expected.Length}");
        long invalid = metrics.InvalidByReason().Sum(r => r.Count);
        Assert.True(invalid == 10, $"10 invalid lines were counted {invalid} times: the part framed again after a pause was counted twice");
        Assert.True(metrics.Bytes == length + Encoding.UTF8.GetByteCount(Lines(0, 1000, invalidEvery: 100) + "{\"value\":10"),
            $"bytes_received_total is {metrics.Bytes}: bytes framed again after a pause were counted twice");
    }

    [Fact]
    public void Feed_WhenTheRingIsFullAtTheEndOfARead_KeepsTheStagedEventsUntilResumed()
    {
        using var ring = new EventRing(slots: 8, arenaBytes: 1 << 16, lockMemory: false, notifyOnPublish: false);
        var consumer = new Sequence();
        ring.Sequencer.SetGatingSequences([consumer]);
        var metrics = new SourceMetrics("in", 1);
        var ingest = new StreamIngest(ring, metrics, new BadInputLog(), SourceFormat.Json, 1024, pauseWhenFull: true);
        var buffers = new IngestBuffers(ReadBytes, 1024);

        ingest.Feed(buffers, Write(buffers, Lines(0, 20, invalidEvery: 0)));
        Assert.True(ingest.IsPaused, "20 events into a ring of 8 did not pause");
        Assert.True(metrics.Received == 8, $"the ring of 8 took {metrics.Received} events before the pause, expected 8");

        // No room yet: resuming changes nothing.
        ingest.Resume(out IngestBuffers? released);
        Assert.True(ingest.IsPaused && released is null, "resumed although the ring was still full");

        var seen = new List<long>();
        while (ingest.IsPaused)
        {
            Drain(ring, consumer, seen);
            ingest.Resume(out _);
        }

        Drain(ring, consumer, seen);
        Assert.True(seen.SequenceEqual(Enumerable.Range(0, 20).Select(i => (long)i)), $"got [{string.Join(",", seen)}], expected 0..19 once each in order");
        Assert.True(metrics.DroppedByReason().Sum(d => d.Count) == 0, "a stream ingest dropped events instead of pausing");
    }

    [Fact]
    public void ADatagramIngest_DropsAndCountsWhatAFullRingRefuses_AndNeverPauses()
    {
        using var ring = new EventRing(slots: 8, arenaBytes: 1 << 16, lockMemory: false, notifyOnPublish: false);
        ring.Sequencer.SetGatingSequences([new Sequence()]);
        var metrics = new SourceMetrics("in", 1);
        var ingest = new StreamIngest(ring, metrics, new BadInputLog(), SourceFormat.Json, 1024, pauseWhenFull: false);
        var buffers = new IngestBuffers(ReadBytes, 1024);

        ingest.Feed(buffers, Write(buffers, Lines(0, 20, invalidEvery: 0)));
        ingest.Complete(buffers);

        Assert.False(ingest.IsPaused, "a datagram ingest paused: its sender cannot be pushed back on");
        Assert.True(metrics.Received == 8, $"received {metrics.Received}, expected the ring's 8");
        long dropped = metrics.DroppedByReason().Where(d => d.Reason == "ring_full").Sum(d => d.Count);
        Assert.True(dropped == 12, $"ring_full drops counted {dropped}, expected 12");
    }

    [Fact]
    public void AConnectionWhoseMemberOrderChanges_StagesEveryEventAsItsOwnLineDecodesAlone()
    {
        // The ingest settles names by the order its previous lines had: lines that keep it, change
        // it, rename a member to one sharing its prefix or spell it escaped must all decode as
        // they would on their own, slot and row.
        var builder = new FieldCatalog.Builder();
        builder.AddField("region");
        builder.AddField("regio");
        builder.AddKey([KeyPart.Type, KeyPart.Key]);
        FieldCatalog catalog = builder.Build();
        using var ring = new EventRing(slots: 1024, arenaBytes: 1 << 20, lockMemory: false, notifyOnPublish: false);
        ring.UseCatalog(catalog);
        var consumer = new Sequence();
        ring.Sequencer.SetGatingSequences([consumer]);
        var ingest = new StreamIngest(ring, new SourceMetrics("in", 1), new BadInputLog(), SourceFormat.Json, 1024, pauseWhenFull: true);
        var buffers = new IngestBuffers(ReadBytes, 1024);
        string[] shapes =
        [
            """{"ts":1764151200000000000,"type":"view","key":"user-{0}","value":{0}.5,"region":"eu","msg":"m{0}"}""",
            """{"ts":1764151200000000000,"type":"view","key":"user-{0}","value":{0}.5,"region":"eu","msg":"m{0}"}""",
            """{"type":"click","ts":1764151200000000001,"value":{0},"key":"user-{0}","msg":"m","region":"us"}""",
            """{"ts":1764151200000000000,"type":"view","key":"user-{0}","value":{0},"regio":"ap","msg":"m"}""",
            """{"ts":1764151200000000000,"t\u0079pe":"view","key":"user-{0}","value":{0},"r\u0065gion":"ap","msg":"m"}""",
            """{"ts":1764151200000000000,"type":"view","key":"user-{0}","value":{0},"regions":"ap","region":"eu"}""",
        ];
        var text = new StringBuilder();
        var random = new Random(11);
        for (int i = 0; i < 600; i++)
        {
            text.Append(shapes[random.Next(shapes.Length)].Replace("{0}", i.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)).Append('\n');
        }

        ingest.Feed(buffers, Write(buffers, text.ToString()));
        Assert.False(ingest.IsPaused, "600 events into a ring of 1,024 paused the ingest");

        EventReader reader = ring.Reader;
        long cursor = ring.Sequencer.Cursor.Value;
        Assert.True(cursor == 599, $"600 lines should all be appended, the cursor is at {cursor}");
        byte[] expectedRow = new byte[catalog.RowBytes];
        for (long s = 0; s <= cursor; s++)
        {
            ref EventSlot slot = ref ring.Slots[s];
            EventView view = reader.View(ref slot, s);
            byte[] payload = view.Payload.ToArray();
            var alone = default(EventSlot);
            Assert.True(JsonEventParser.TryParse(payload, ref alone, catalog, expectedRow, out _), $"event {s} does not decode on its own: {Encoding.UTF8.GetString(payload)}");
            Assert.True(slot.Flags == alone.Flags && slot.Value == alone.Value && slot.TypeOffset == alone.TypeOffset && slot.TypeLength == alone.TypeLength
                && slot.KeyOffset == alone.KeyOffset && slot.KeyLength == alone.KeyLength,
                $"event {s}: the staged slot differs from the line decoded alone: {Encoding.UTF8.GetString(payload)}");
            for (int f = 0; f < catalog.FieldCount; f++)
            {
                EventDaemon.Events.Fields.FieldRef expected = catalog.Fields(expectedRow)[f];
                bool found = view.TryGetField(f, catalog.Name(f), out JsonScalar field);
                Assert.True(found == expected.IsPresent && (!found || (field.Offset == expected.Offset && field.Length == expected.Length && field.Kind == expected.Kind)),
                    $"event {s}: field {f} differs from the line decoded alone: {Encoding.UTF8.GetString(payload)}");
            }

            Assert.True(view.TryGetKeyHash(0, out uint hash) && hash == catalog.Hashes(expectedRow)[0],
                $"event {s}: the key hash differs from the line decoded alone: {Encoding.UTF8.GetString(payload)}");
        }
    }

    private static string Lines(int from, int count, int invalidEvery)
    {
        var text = new StringBuilder();
        for (int i = from; i < from + count; i++)
        {
            text.Append(invalidEvery > 0 && i % invalidEvery == invalidEvery - 1 ? "not json\n" : $"{{\"type\":\"t\",\"value\":{i}}}\n");
        }

        return text.ToString();
    }

    private static int Write(IngestBuffers buffers, string text) => Encoding.UTF8.GetBytes(text, buffers.Read);

    /// <summary>Reads every published event's value, then releases them all.</summary>
    private static void Drain(EventRing ring, Sequence consumer, List<long> seen)
    {
        long cursor = ring.Sequencer.Cursor.Value;
        for (long s = consumer.Value + 1; s <= cursor; s++)
        {
            ref EventSlot slot = ref ring.Slots[s];
            string payload = Encoding.UTF8.GetString(ring.Payload(ref slot));
            int at = payload.IndexOf("\"value\":", StringComparison.Ordinal) + 8;
            seen.Add(long.Parse(payload.AsSpan(at).TrimEnd('}'), System.Globalization.CultureInfo.InvariantCulture));
        }

        consumer.SetValue(cursor);
    }

    private static int FirstDifference(List<long> seen, long[] expected)
    {
        int i = 0;
        while (i < seen.Count && i < expected.Length && seen[i] == expected[i])
        {
            i++;
        }

        return i;
    }
}
