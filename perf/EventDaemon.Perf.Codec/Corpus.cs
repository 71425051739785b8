using System.Globalization;
using System.Text;
using EventDaemon.Client;

namespace EventDaemon.Perf.Codec;

/// <summary>
/// A deterministic corpus of realistic events (clickstream-like: the four well-known fields plus a
/// few extra fields, one nested), as JSON lines and as the equivalent binary frames.
/// </summary>
internal sealed class Corpus
{
    private static readonly string[] Types = ["click", "view", "purchase", "signup", "scroll", "add_to_cart"];
    private static readonly string[] Regions = ["eu-west", "us-east", "ap-south"];

    private Corpus(byte[] jsonStream, byte[][] jsonLines, byte[] frameStream, int events)
    {
        JsonStream = jsonStream;
        JsonLines = jsonLines;
        FrameStream = frameStream;
        Events = events;
    }

    /// <summary>All lines, each ending in <c>\n</c>, as one buffer (what a socket delivers).</summary>
    public byte[] JsonStream { get; }

    /// <summary>The same lines without newline, for decoders that take one line at a time.</summary>
    public byte[][] JsonLines { get; }

    /// <summary>The same events as binary frames; the extra fields travel as the opaque payload.</summary>
    public byte[] FrameStream { get; }

    public int Events { get; }

    public static Corpus Create(int events, bool rfc3339Timestamps)
    {
        var random = new Random(42);
        var json = new MemoryStream();
        var frames = new MemoryStream();
        var lines = new byte[events][];
        long ts = 1_764_151_200_000_000_000;
        var frame = new byte[1024];
        for (int i = 0; i < events; i++)
        {
            ts += random.Next(1, 2_000_000);
            string type = Types[random.Next(Types.Length)];
            string key = "user-" + random.Next(1, 100_000).ToString(CultureInfo.InvariantCulture);
            double value = Math.Round(random.NextDouble() * 500, 2);
            string extra = $"\"session\":\"{random.NextInt64():x16}\",\"region\":\"{Regions[random.Next(Regions.Length)]}\"," +
                $"\"page\":{{\"path\":\"/p/{random.Next(1000)}\",\"ref\":{(random.Next(2) == 0 ? "null" : "\"/home\"")}}},\"ok\":true";
            string tsText = rfc3339Timestamps
                ? "\"" + DateTime.UnixEpoch.AddTicks(ts / 100).ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture) + "\""
                : ts.ToString(CultureInfo.InvariantCulture);
            string line = $"{{\"ts\":{tsText},\"type\":\"{type}\",\"key\":\"{key}\",\"value\":{value.ToString("R", CultureInfo.InvariantCulture)},{extra}}}";
            lines[i] = Encoding.UTF8.GetBytes(line);
            json.Write(lines[i]);
            json.WriteByte((byte)'\n');

            int n = BinaryFrameWriter.Write(frame, new FrameEvent
            {
                Timestamp = ts,
                Value = value,
                Type = Encoding.UTF8.GetBytes(type),
                Key = Encoding.UTF8.GetBytes(key),
                Payload = Encoding.UTF8.GetBytes("{" + extra + "}"),
            });
            frames.Write(frame, 0, n);
        }

        return new Corpus(json.ToArray(), lines, frames.ToArray(), events);
    }
}
