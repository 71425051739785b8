using System.Text;
using EventDaemon.Daemon.Journal;

namespace EventDaemon.Daemon.Tests.Journal;

/// <summary>Writes numbered events into a journal and reads them back.</summary>
internal static class JournalTestSupport
{
    /// <summary>The smallest segments the options allow with 1 KiB events: several segments in a few MB.</summary>
    public static JournalOptions Options(string directory, JournalFsync fsync = JournalFsync.Batch) =>
        new(directory, 3L << 20, fsync, 1024);

    /// <summary>An event's bytes, different for every sequence and of varying length.</summary>
    public static byte[] Payload(long sequence) =>
        Encoding.UTF8.GetBytes($$"""{"n":{{sequence}},"pad":"{{new string('x', (int)(sequence * 7 % 300))}}"}""");

    public static JournalEntry Entry(long sequence) =>
        new(sequence, 1_764_151_200_000_000_000 + sequence, 1_764_151_200_000_000_500 + sequence, (ushort)(sequence % 3), 0);

    /// <summary>Appends sequences [from, to), flushing every <paramref name="perGroup"/> records.</summary>
    public static void Append(JournalWriter writer, long from, long to, int perGroup = 100)
    {
        for (long s = from; s < to; s++)
        {
            Retry(() => writer.TryAppend(Entry(s), Payload(s)), writer, $"append of {s}");
            if ((s - from + 1) % perGroup == 0)
            {
                Retry(writer.Flush, writer, $"flush after {s}");
            }
        }

        Retry(writer.Flush, writer, "the final flush");
    }

    /// <summary>A write may wait for the next segment to be zeroed: retried, as the journal stage does, up to a deadline.</summary>
    private static void Retry(Func<bool> write, JournalWriter writer, string what)
    {
        long deadline = Environment.TickCount64 + 10_000;
        while (!write())
        {
            if (Environment.TickCount64 > deadline)
            {
                throw new InvalidOperationException($"{what} failed for 10 s: {writer.Problem}");
            }
        }
    }

    /// <summary>Reads every record from <paramref name="from"/>, checking each against what was written.</summary>
    public static List<long> ReadAll(string directory, long from, out JournalReader reader)
    {
        var damage = new List<JournalDamage>();
        List<JournalSegment> segments = JournalState.ListSegments(directory, damage);
        reader = new JournalReader(segments, from);
        var sequences = new List<long>();
        while (reader.TryRead(out JournalEntry entry, out ReadOnlySpan<byte> payload))
        {
            if (entry != Entry(entry.Sequence) || !payload.SequenceEqual(Payload(entry.Sequence)))
            {
                throw new InvalidOperationException($"record {entry.Sequence} reads back different from what was written");
            }

            sequences.Add(entry.Sequence);
        }

        reader.Dispose();
        return sequences;
    }

    public static void WaitDurable(JournalWriter writer, long sequence)
    {
        long deadline = Environment.TickCount64 + 10_000;
        while (writer.DurableSequence < sequence)
        {
            if (Environment.TickCount64 > deadline)
            {
                throw new TimeoutException($"durable sequence stayed at {writer.DurableSequence}, expected {sequence}");
            }

            Thread.Sleep(1);
        }
    }

    /// <summary>Flips one bit of a file at an offset.</summary>
    public static void FlipBit(string path, long offset)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        int b = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)(b ^ 0x10));
    }
}
