using System.Text;
using EventDaemon.Client;
using EventDaemon.Daemon.Journal;
using EventDaemon.Daemon.Tests.Sinks;
using EventDaemon.Events;
using EventDaemon.Events.Ingest;
using Xunit;

namespace EventDaemon.Daemon.Tests.Journal;

public sealed class JournalReplayTests : IDisposable
{
    private const long WallOffset = 1_000_000_000;
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    /// <summary>Even sequences: a JSON line; odd: a binary frame. Both carry type t{n % 5} and value n.</summary>
    private static byte[] Event(long n)
    {
        if (n % 2 == 0)
        {
            return Encoding.UTF8.GetBytes($$"""{"type":"t{{n % 5}}","value":{{n}},"extra":"x"}""");
        }

        var frame = new FrameEvent { Type = Encoding.UTF8.GetBytes($"t{n % 5}"), Value = n, Payload = [1, 2, 3] };
        byte[] bytes = new byte[BinaryFrameWriter.GetFrameLength(frame)];
        BinaryFrameWriter.Write(bytes, frame);
        return bytes;
    }

    [Fact]
    public void Run_DecodesEachRecordAgain_KeepsItsTimesAndSource_AndMapsRingToJournalSequences()
    {
        JournalOptions options = JournalTestSupport.Options(_directory.File("journal"));
        using (var writer = new JournalWriter(options, JournalState.Recover(options)))
        {
            // Sequences 1000..1199, then a gap (as damage would leave), then 1300..1399.
            foreach (long s in Enumerable.Range(1000, 200).Concat(Enumerable.Range(1300, 100)))
            {
                var flags = (ushort)(s % 2 == 0 ? EventFlags.HasType | EventFlags.HasValue : EventFlags.Binary);
                Assert.True(writer.TryAppend(new JournalEntry(s, 5_000 + s, WallOffset + 7_000 + s, (ushort)(s % 3), flags), Event(s)), $"append {s}");
            }

            long deadline = Environment.TickCount64 + 10_000;
            while (!writer.Flush() && Environment.TickCount64 < deadline)
            {
            }
        }

        using var ring = new EventRing(1024, 1 << 20, lockMemory: false, notifyOnPublish: false);
        var damage = new List<JournalDamage>();
        using var reader = new JournalReader(JournalState.ListSegments(options.Directory, damage), 1100);
        JournalReplay.Result result = JournalReplay.Run(reader, ring, 64 * 1024, nextSequence: 1400, WallOffset);

        Assert.True(result.Replayed == 200 && result.Undecodable == 0, $"1100..1199 and 1300..1399 should replay: {result.Replayed} replayed, {result.Undecodable} undecodable");
        Assert.True(ring.Sequencer.Cursor.Value == 199, $"200 events should be published, cursor at {ring.Sequencer.Cursor.Value}");
        EventReader view = ring.Reader;
        for (long r = 0; r < 200; r++)
        {
            long s = result.Map.JournalOf(r);
            long expected = r < 100 ? 1100 + r : 1300 + (r - 100);
            Assert.True(s == expected, $"ring sequence {r} should map to journal sequence {expected}, maps to {s}");
            ref EventSlot slot = ref ring.Slots[r];
            Assert.True(slot.Timestamp == 5_000 + s && slot.IngestNanos == 7_000 + s && slot.SourceId == s % 3,
                $"event {s}: times and source should be the journaled ones: ts {slot.Timestamp}, ingest {slot.IngestNanos}, source {slot.SourceId}");
            Assert.True(view.Payload(ref slot).SequenceEqual(Event(s)), $"event {s}: the bytes should be the journaled ones");
            string type = Encoding.UTF8.GetString(view.Payload(ref slot).Slice(slot.TypeOffset, slot.TypeLength));
            Assert.True(type == $"t{s % 5}" && slot.Value == s, $"event {s} should decode again to type t{s % 5} and value {s}: '{type}', {slot.Value}");
            Assert.True(((slot.Flags & EventFlags.Binary) != 0) == (s % 2 == 1), $"event {s}: binary flag {slot.Flags}");
        }

        Assert.True(result.Map.ReplayedCount == 200 && result.Map.JournalOf(200) == 1400 && result.Map.LiveBase == 1200,
            $"live events follow the replay: ring 200 ↔ journal {result.Map.JournalOf(200)}, base {result.Map.LiveBase}");
    }
}
