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

    /// <summary>
    /// The end-to-end per-key workload's lines (perf/EventDaemon.LoadGen): a 19-digit nanosecond
    /// <c>ts</c>, type view:50/click:30/purchase:20, 5,000 keys, a two-decimal value in [0, 100),
    /// region eu:45/us:40/ap:15 and a <c>msg</c> padding each line to 107 bytes. No binary frames.
    /// </summary>
    public static Corpus CreatePerKey(int events)
    {
        const int LineBytes = 107;
        var random = new Random(7);
        var json = new MemoryStream();
        var lines = new byte[events][];
        long ts = 1_764_151_200_123_456_789;
        for (int i = 0; i < events; i++)
        {
            ts += random.Next(1, 2_000_000);
            int t = random.Next(100);
            string type = t < 50 ? "view" : t < 80 ? "click" : "purchase";
            string key = "user-" + random.Next(5000).ToString("D4", CultureInfo.InvariantCulture);
            double value = random.Next(10_000) / 100.0;
            int r = random.Next(100);
            string region = r < 45 ? "eu" : r < 85 ? "us" : "ap";
            string head = $"{{\"ts\":{ts.ToString(CultureInfo.InvariantCulture)},\"type\":\"{type}\",\"key\":\"{key}\"," +
                $"\"value\":{value.ToString("R", CultureInfo.InvariantCulture)},\"region\":\"{region}\",\"msg\":\"";
            var msg = new StringBuilder();
            while (head.Length + msg.Length + 2 < LineBytes)
            {
                msg.Append((char)('a' + random.Next(26)));
            }

            lines[i] = Encoding.UTF8.GetBytes(head + msg + "\"}");
            json.Write(lines[i]);
            json.WriteByte((byte)'\n');
        }

        return new Corpus(json.ToArray(), lines, [], events);
    }
}
