using System.Text;
using EventDaemon.Events.Codecs;
using Xunit;

namespace EventDaemon.Events.Tests.Codecs;

public class LineFramerTests
{
    private const string Sample = "{\"type\":\"a\"}\n{\"type\":\"bb\",\"value\":2}\r\n\n\r\n{\"key\":\"ccc\"}\n";

    private static readonly string[] SampleLines = ["{\"type\":\"a\"}", "{\"type\":\"bb\",\"value\":2}", "{\"key\":\"ccc\"}"];

    [Fact]
    public void Feed_AtEverySplitPoint_DeliversTheSameLines()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(Sample);
        for (int split = 0; split <= bytes.Length; split++)
        {
            var framer = new LineFramer(64);
            var sink = new CollectingSink();
            framer.Feed(bytes.AsSpan(0, split), ref sink);
            framer.Feed(bytes.AsSpan(split), ref sink);
            framer.Complete(ref sink);

            Assert.True(sink.Lines.SequenceEqual(SampleLines), $"split at {split}: got [{string.Join(" | ", sink.Lines)}]");
            Assert.True(sink.Oversized == 0, $"split at {split}: nothing is oversized");
        }
    }

    [Fact]
    public void Feed_AtEveryPairOfSplitPoints_DeliversTheSameLines()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(Sample);
        for (int a = 0; a <= bytes.Length; a++)
        {
            for (int b = a; b <= bytes.Length; b++)
            {
                var framer = new LineFramer(64);
                var sink = new CollectingSink();
                framer.Feed(bytes.AsSpan(0, a), ref sink);
                framer.Feed(bytes.AsSpan(a, b - a), ref sink);
                framer.Feed(bytes.AsSpan(b), ref sink);
                framer.Complete(ref sink);
                Assert.True(sink.Lines.SequenceEqual(SampleLines), $"splits at {a},{b}: got [{string.Join(" | ", sink.Lines)}]");
            }
        }
    }

    [Fact]
    public void Feed_OneByteAtATime_DeliversTheSameLines()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(Sample);
        var framer = new LineFramer(64);
        var sink = new CollectingSink();
        foreach (byte b in bytes)
        {
            framer.Feed([b], ref sink);
        }

        Assert.True(sink.Lines.SequenceEqual(SampleLines), $"byte-wise feed: got [{string.Join(" | ", sink.Lines)}]");
    }

    [Fact]
    public void Complete_DeliversFinalLineWithoutNewline()
    {
        var framer = new LineFramer(64);
        var sink = new CollectingSink();
        framer.Feed("{\"a\":1}\n{\"b\":2}"u8, ref sink);
        Assert.True(sink.Lines.Count == 1, "the unterminated line must wait for more bytes or the end of stream");
        framer.Complete(ref sink);
        Assert.True(sink.Lines.SequenceEqual(["{\"a\":1}", "{\"b\":2}"]), $"final line should be delivered at end of stream, got [{string.Join(" | ", sink.Lines)}]");
        Assert.True(framer.PendingBytes == 0, "Complete should leave nothing pending");
    }

    [Fact]
    public void Complete_StripsTrailingCarriageReturnOfFinalLine()
    {
        var framer = new LineFramer(64);
        var sink = new CollectingSink();
        framer.Feed("{\"a\":1}\r"u8, ref sink);
        framer.Complete(ref sink);
        Assert.True(sink.Lines.SequenceEqual(["{\"a\":1}"]), $"got [{string.Join(" | ", sink.Lines)}]");
    }

    [Fact]
    public void Feed_EmptyAndBlankCrLfLines_AreIgnored()
    {
        var framer = new LineFramer(64);
        var sink = new CollectingSink();
        framer.Feed("\n\r\n\n\r\n"u8, ref sink);
        framer.Complete(ref sink);
        Assert.True(sink.Lines.Count == 0 && sink.Oversized == 0, $"empty lines must produce nothing, got {sink.Lines.Count} lines");
    }

    [Fact]
    public void Feed_CarriageReturnInsideLine_IsKept()
    {
        var framer = new LineFramer(64);
        var sink = new CollectingSink();
        framer.Feed("a\rb\n"u8, ref sink);
        Assert.True(sink.Lines.SequenceEqual(["a\rb"]), "only a CR right before the LF is a terminator");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(1000)]
    public void Feed_OversizedLineBetweenGoodLines_IsReportedOnceAndNeighboursSurvive(int chunkSize)
    {
        string input = "good1\n" + new string('x', 50) + "\ngood2\r\n" + new string('y', 11) + "\r\ngood3\n" + new string('z', 200);
        byte[] bytes = Encoding.UTF8.GetBytes(input);
        var framer = new LineFramer(10);
        var sink = new CollectingSink();
        for (int i = 0; i < bytes.Length; i += chunkSize)
        {
            framer.Feed(bytes.AsSpan(i, Math.Min(chunkSize, bytes.Length - i)), ref sink);
        }

        framer.Complete(ref sink);
        Assert.True(sink.Lines.SequenceEqual(["good1", "good2", "good3"]), $"chunk {chunkSize}: got [{string.Join(" | ", sink.Lines)}]");
        Assert.True(sink.Oversized == 3, $"chunk {chunkSize}: three oversized lines expected, got {sink.Oversized}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(100)]
    public void Feed_LineOfExactlyTheLimit_IsAcceptedWithLfOrCrLf(int chunkSize)
    {
        string ten = new string('a', 10);
        byte[] bytes = Encoding.UTF8.GetBytes(ten + "\r\n" + ten + "\n" + ten + "b\r\n");
        var framer = new LineFramer(10);
        var sink = new CollectingSink();
        for (int i = 0; i < bytes.Length; i += chunkSize)
        {
            framer.Feed(bytes.AsSpan(i, Math.Min(chunkSize, bytes.Length - i)), ref sink);
        }

        Assert.True(sink.Lines.SequenceEqual([ten, ten]), $"chunk {chunkSize}: two 10-byte lines expected, got [{string.Join(" | ", sink.Lines)}]");
        Assert.True(sink.Oversized == 1, $"chunk {chunkSize}: the 11-byte line is oversized, got {sink.Oversized}");
    }

    [Fact]
    public void Reset_ForgetsPartialLine()
    {
        var framer = new LineFramer(64);
        var sink = new CollectingSink();
        framer.Feed("partial"u8, ref sink);
        framer.Reset();
        framer.Feed("whole\n"u8, ref sink);
        Assert.True(sink.Lines.SequenceEqual(["whole"]), $"got [{string.Join(" | ", sink.Lines)}]");
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
