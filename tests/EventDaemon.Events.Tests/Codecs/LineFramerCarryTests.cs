using System.Text;
using EventDaemon.Events.Codecs;
using Xunit;

namespace EventDaemon.Events.Tests.Codecs;

/// <summary>
/// The framer's carry starts empty and grows with the longest line cut across reads: a long line
/// cut many times arrives whole, and the carry never grows past the limit.
/// </summary>
public sealed class LineFramerCarryTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(100)]
    [InlineData(300)]
    public void ALongLineCutIntoPieces_ArrivesWhole_AsTheCarryGrows(int piece)
    {
        string line1 = "{\"a\":\"" + new string('x', 5000) + "\"}";
        string line2 = "{\"b\":\"" + new string('y', 700) + "\"}";
        byte[] bytes = Encoding.UTF8.GetBytes(line1 + "\n" + line2 + "\nshort\n");
        var framer = new LineFramer(8192);
        var sink = new CollectingSink();
        for (int at = 0; at < bytes.Length; at += piece)
        {
            framer.Feed(bytes.AsSpan(at, Math.Min(piece, bytes.Length - at)), ref sink);
        }

        Assert.True(sink.Lines.SequenceEqual([line1, line2, "short"]),
            $"pieces of {piece} bytes: got {sink.Lines.Count} lines of lengths [{string.Join(",", sink.Lines.Select(l => l.Length))}], expected [{line1.Length},{line2.Length},5]");
    }

    [Fact]
    public void ALineCutAcrossReadsBeyondTheLimit_IsReportedOversized_AndTheNextLineArrives()
    {
        var framer = new LineFramer(1000);
        var sink = new CollectingSink();
        byte[] bytes = Encoding.UTF8.GetBytes(new string('z', 1500) + "\nafter\n");
        for (int at = 0; at < bytes.Length; at += 200)
        {
            framer.Feed(bytes.AsSpan(at, Math.Min(200, bytes.Length - at)), ref sink);
        }

        Assert.True(sink.Oversized == 1, $"a 1500-byte line under a 1000-byte limit was reported {sink.Oversized} times");
        Assert.True(sink.Lines.SequenceEqual(["after"]), $"got [{string.Join(" | ", sink.Lines)}], expected only the line after the oversized one");
    }

    private struct CollectingSink : ILineSink
    {
        public CollectingSink()
        {
        }

        public List<string> Lines { get; } = [];

        public int Oversized { get; private set; }

        public readonly void OnLine(ReadOnlySpan<byte> line) => Lines.Add(Encoding.UTF8.GetString(line));

        public void OnOversized() => Oversized++;
    }
}
