using System.Text;
using EventDaemon.Daemon.Journal;
using EventDaemon.Daemon.Tests.Sinks;
using EventDaemon.Events;
using EventDaemon.Events.Ingest;
using Xunit;

namespace EventDaemon.Daemon.Tests.Journal;

public sealed class JournalHandlerTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void OnEvent_JournalsEachEventsBytesTimesSourceAndFlags_NumberedFromTheBase()
    {
        JournalOptions options = JournalTestSupport.Options(_directory.File("journal"));
        using var ring = new EventRing(1024, 1 << 20, lockMemory: false, notifyOnPublish: false);
        var lines = new List<byte[]>();
        using (IngestBatch batch = ring.BeginBatch())
        {
            for (int i = 0; i < 300; i++)
            {
                byte[] line = Encoding.UTF8.GetBytes($$"""{"type":"t{{i % 3}}","n":{{i}}}""");
                var slot = new EventSlot
                {
                    Timestamp = 1_000_000 + i,
                    IngestNanos = 2_000_000 + i,
                    SourceId = (ushort)(i % 4),
                    Flags = i % 2 == 0 ? EventFlags.HasTimestamp : EventFlags.Binary,
                    PayloadLength = line.Length,
                };
                Assert.True(batch.TryAppend(ref slot, line, wait: false), $"event {i} did not fit in the ring");
                lines.Add(line);
            }
        }

        const long Base = 5_000;
        using (var writer = new JournalWriter(options, JournalState.Recover(options)))
        {
            var handler = new JournalHandler(ring.Reader, writer, Base, wallOffsetNanos: 7_000_000);
            for (long s = 0; s < 300; s++)
            {
                // Batches of 50: a group is written at each batch's end.
                handler.OnEvent(ref ring.Slots[s], s, endOfBatch: s % 50 == 49);
            }

            JournalTestSupport.WaitDurable(writer, Base + 299);
            Assert.True(writer.Appended == 300, $"the handler should have appended 300 records, appended {writer.Appended}");
        }

        var damage = new List<JournalDamage>();
        using var reader = new JournalReader(JournalState.ListSegments(options.Directory, damage), 0);
        int n = 0;
        while (reader.TryRead(out JournalEntry entry, out ReadOnlySpan<byte> payload))
        {
            Assert.True(entry.Sequence == Base + n, $"record {n} should carry journal sequence {Base + n}, carries {entry.Sequence}");
            Assert.True(entry.EventNanos == 1_000_000 + n && entry.IngestNanos == 9_000_000 + n, $"record {n} times differ: {entry}");
            Assert.True(entry.Source == n % 4, $"record {n} source {entry.Source}, expected {n % 4}");
            Assert.True(entry.Flags == (ushort)(n % 2 == 0 ? EventFlags.HasTimestamp : EventFlags.Binary), $"record {n} flags {entry.Flags}");
            Assert.True(payload.SequenceEqual(lines[n]), $"record {n} bytes differ from the event's");
            n++;
        }

        Assert.True(n == 300, $"read {n} records back, expected 300");
    }
}
