using EventDaemon.Events.Codecs;

namespace EventDaemon.Events.Fuzz.Targets;

/// <summary>
/// One input = a byte stream; its first byte picks the line limit and the read size. The framer's
/// output must equal a plain split of the whole stream, whatever the read boundaries.
/// </summary>
public static class LinesTarget
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        int max = 1 + (input[0] & 0x3F);
        int chunk = 1 + (input[0] >> 6) * 7;
        ReadOnlySpan<byte> stream = input[1..];

        var framer = new LineFramer(max);
        var sink = new Sink(max);
        for (int i = 0; i < stream.Length; i += chunk)
        {
            framer.Feed(stream.Slice(i, Math.Min(chunk, stream.Length - i)), ref sink);
        }

        framer.Complete(ref sink);
        JsonTarget.Check(framer.PendingBytes == 0, "Complete left bytes pending");

        // Reference: split on \n, strip one trailing \r, drop empties, count the too-long ones.
        int expectedLines = 0, expectedOversized = 0;
        long expectedHash = 17;
        ReadOnlySpan<byte> rest = stream;
        while (!rest.IsEmpty)
        {
            int nl = rest.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = nl < 0 ? rest : rest[..nl];
            rest = nl < 0 ? default : rest[(nl + 1)..];
            if (!line.IsEmpty && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            if (line.Length > max)
            {
                expectedOversized++;
            }
            else if (!line.IsEmpty)
            {
                expectedLines++;
                expectedHash = Sink.Hash(expectedHash, line);
            }
        }

        JsonTarget.Check(sink.Lines == expectedLines, $"{sink.Lines} lines delivered, {expectedLines} expected");
        JsonTarget.Check(sink.Oversized == expectedOversized, $"{sink.Oversized} oversized reported, {expectedOversized} expected");
        JsonTarget.Check(sink.HashValue == expectedHash, "delivered lines differ from a plain split");
    }

    private struct Sink(int max) : ILineSink
    {
        public int Lines;
        public int Oversized;
        public long HashValue = 17;

        public void OnLine(ReadOnlySpan<byte> line)
        {
            JsonTarget.Check(!line.IsEmpty && line.Length <= max, $"line of {line.Length} bytes delivered with limit {max}");
            JsonTarget.Check(line.IndexOf((byte)'\n') < 0, "line contains a newline");
            Lines++;
            HashValue = Hash(HashValue, line);
        }

        public void OnOversized() => Oversized++;

        public static long Hash(long h, ReadOnlySpan<byte> line)
        {
            foreach (byte b in line)
            {
                h = (h * 31) + b;
            }

            return (h * 1_000_003) + line.Length;
        }
    }
}
