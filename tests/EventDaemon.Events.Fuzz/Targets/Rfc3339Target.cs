using EventDaemon.Events.Codecs;

namespace EventDaemon.Events.Fuzz.Targets;

/// <summary>One input = one timestamp string. Accepted ones must round-trip through DateTimeOffset within the fraction's truncation.</summary>
public static class Rfc3339Target
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        if (!Rfc3339.TryParseUnixNanos(input, out long nanos))
        {
            return;
        }

        JsonTarget.Check(input.Length >= 20 && input[4] == (byte)'-' && input[7] == (byte)'-', "accepted something not shaped like RFC 3339");

        // The UTC date the parser computed must be a real calendar date that formats back to a
        // value within one day of the input's own date (offsets are below 24 h).
        var utc = DateTime.UnixEpoch.AddTicks(nanos / 100);
        int year = ((input[0] - '0') * 1000) + ((input[1] - '0') * 100) + ((input[2] - '0') * 10) + (input[3] - '0');
        JsonTarget.Check(Math.Abs(utc.Year - year) <= 1, $"year {utc.Year} computed for an input in {year}");
    }
}
