using System.Text;
using EventDaemon.Client;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Fields;
using EventDaemon.Tests.Shared;
using Xunit;

namespace EventDaemon.Events.Tests.Codecs;

/// <summary>
/// The decoders' zero-allocation claim, proven: after warm-up, decoding a million events allocates
/// no managed bytes on the decoding thread and triggers no collection.
/// </summary>
[Collection(AllocationMeasurements.Name)]
public class ZeroAllocationTests
{
    private const int Events = 1_000_000;

    private static readonly string[] Lines =
    [
        """{"ts":1764151200000000000,"type":"purchase","key":"user-42","value":19.5,"cart":{"items":[1,2,3]}}""",
        """{"ts":"2025-11-26T10:00:00.123456789+01:00","type":"cl\u0069ck","key":"u\"1","value":-3e-2,"ok":true}""",
        """{"type":"view","value":123456789012345678901234567890,"tags":["a","b"],"n":null}""",
        """{"value":1e400}""",
        """{"type":"broken",""",
        """[1,2,3]""",
        """{"ts":"2025-11-26T10:00:00\u002e5Z","key":"é😀"}""",
    ];

    [Fact]
    public void JsonEventParser_DecodingAMillionLines_AllocatesNothing()
    {
        byte[][] lines = [.. Lines.Select(Encoding.UTF8.GetBytes)];
        var slot = default(EventSlot);
        long accepted = ParseAll(lines, ref slot, 10_000);

        AssertNoAllocation(() => accepted += ParseAll(lines, ref slot, Events), "JsonEventParser.TryParse");
        Assert.True(accepted > 0, "some lines should have been accepted");
    }

    [Fact]
    public void JsonEventParser_FillingRowsOfFieldsAndKeyHashes_AllocatesNothing()
    {
        byte[][] lines = [.. Lines.Select(Encoding.UTF8.GetBytes)];
        var builder = new FieldCatalog.Builder();
        builder.AddField("cart");
        builder.AddField("ok");
        builder.AddField("n");
        builder.AddKey([KeyPart.Type, KeyPart.Key]);
        builder.AddKey([KeyPart.Named("tags"), KeyPart.Key]);
        FieldCatalog catalog = builder.Build();
        byte[] row = new byte[catalog.RowBytes];
        var slot = default(EventSlot);
        long accepted = ParseAll(lines, ref slot, catalog, row, 10_000);

        AssertNoAllocation(() => accepted += ParseAll(lines, ref slot, catalog, row, Events), "JsonEventParser.TryParse with a catalog");
        Assert.True(accepted > 0 && catalog.Hashes(row)[0] != 0, "some lines should have been accepted and hashed");
    }

    [Fact]
    public void JsonEventParser_PredictingMemberOrderWhileItChanges_AllocatesNothing()
    {
        // The lines differ in their members and order, so predictions miss and are learned again all the time.
        byte[][] lines = [.. Lines.Select(Encoding.UTF8.GetBytes)];
        var builder = new FieldCatalog.Builder();
        builder.AddField("cart");
        builder.AddField("region");
        builder.AddKey([KeyPart.Type, KeyPart.Key]);
        FieldCatalog catalog = builder.Build();
        byte[] row = new byte[catalog.RowBytes];
        var slot = default(EventSlot);
        var order = default(MemberOrder);
        long accepted = ParseAll(lines, ref slot, catalog, row, ref order, 10_000);

        AssertNoAllocation(() => accepted += ParseAll(lines, ref slot, catalog, row, ref order, Events), "JsonEventParser.TryParse with a member order");
        Assert.True(accepted > 0 && catalog.Hashes(row)[0] != 0, "some lines should have been accepted and hashed");
    }

    [Fact]
    public void LineFramerWithParser_DecodingAMillionLinesInChunks_AllocatesNothing()
    {
        // Odd-sized reads so lines are cut and carried over.
        byte[] stream = Encoding.UTF8.GetBytes(string.Join("\r\n", Lines) + "\n");
        var framer = new LineFramer(1024);
        var sink = new ParsingLineSink();
        int rounds = Events / Lines.Length;
        FeedInChunks(framer, stream, ref sink, 1000);

        AssertNoAllocation(() => FeedInChunks(framer, stream, ref sink, rounds), "LineFramer + JsonEventParser");
        Assert.True(sink.Valid + sink.Invalid >= rounds * Lines.Length, $"every line should reach the sink, got {sink.Valid + sink.Invalid}");
    }

    [Fact]
    public void BinaryFrameDecoder_DecodingAMillionFramesInChunks_AllocatesNothing()
    {
        byte[] stream =
        [
            .. BinaryFrameTests.Encode(1, 2.5, "purchase", "user-42", new byte[40]),
            .. BinaryFrameTests.Encode(null, null, "view", null, []),
            .. BinaryFrameTests.Encode(3, -1, null, "k", new byte[7]),
        ];
        var decoder = new BinaryFrameDecoder(1024);
        var sink = new CountingFrameSink();
        int rounds = Events / 3;
        FeedFrames(decoder, stream, ref sink, 1000);

        AssertNoAllocation(() => FeedFrames(decoder, stream, ref sink, rounds), "BinaryFrameDecoder");
        Assert.True(sink.Frames >= rounds * 3, $"every frame should reach the sink, got {sink.Frames}");
    }

    [Fact]
    public void FieldLookupsAndStringComparisons_AllocateNothing()
    {
        byte[] line = Encoding.UTF8.GetBytes(
            """{"ts":1,"type":"cl\u0069ck","user":{"id":7},"region":"eu-\u0077est","score":42.5,"flag":true,"long":"""
            + "\"" + new string('x', 600) + "\\u0041\"}");
        var slot = default(EventSlot);
        Assert.True(JsonEventParser.TryParse(line, ref slot, out _), "fixture line should be valid");
        long hits = Lookups(line, in slot, 1000);

        AssertNoAllocation(() => hits += Lookups(line, in slot, Events / 20), "JsonFieldReader / JsonString / EventView");
        Assert.True(hits > 0, "lookups should have found fields");
    }

    private static long Lookups(byte[] line, in EventSlot slot, int n)
    {
        long hits = 0;
        var view = new EventView(in slot, line);
        for (int i = 0; i < n; i++)
        {
            if (view.TryGetField("region"u8, out JsonScalar region) && JsonString.StartsWith(region.RawIn(line), region.Escaped, "eu-"u8))
            {
                hits++;
            }

            if (view.TryGetField("score"u8, out JsonScalar score) && score.GetDouble(view.Payload) > 40)
            {
                hits++;
            }

            if (view.TypeEquals("click"u8))
            {
                hits++;
            }

            if (view.TryGetField("long"u8, out JsonScalar longValue) && JsonString.Contains(longValue.RawIn(line), longValue.Escaped, "xA"u8))
            {
                hits++;
            }
        }

        return hits;
    }

    private static long ParseAll(byte[][] lines, ref EventSlot slot, int n)
    {
        long accepted = 0;
        for (int i = 0; i < n; i++)
        {
            if (JsonEventParser.TryParse(lines[i % lines.Length], ref slot, out InvalidReason _))
            {
                accepted++;
            }
        }

        return accepted;
    }

    private static long ParseAll(byte[][] lines, ref EventSlot slot, FieldCatalog catalog, byte[] row, int n)
    {
        long accepted = 0;
        for (int i = 0; i < n; i++)
        {
            if (JsonEventParser.TryParse(lines[i % lines.Length], ref slot, catalog, row, out InvalidReason _))
            {
                accepted++;
            }
        }

        return accepted;
    }

    private static long ParseAll(byte[][] lines, ref EventSlot slot, FieldCatalog catalog, byte[] row, ref MemberOrder order, int n)
    {
        long accepted = 0;
        for (int i = 0; i < n; i++)
        {
            if (JsonEventParser.TryParse(lines[i % lines.Length], ref slot, catalog, row, ref order, out InvalidReason _))
            {
                accepted++;
            }
        }

        return accepted;
    }

    private static void FeedInChunks(LineFramer framer, byte[] stream, ref ParsingLineSink sink, int rounds)
    {
        for (int r = 0; r < rounds; r++)
        {
            for (int i = 0; i < stream.Length; i += 37)
            {
                framer.Feed(stream.AsSpan(i, Math.Min(37, stream.Length - i)), ref sink);
            }
        }
    }

    private static void FeedFrames(BinaryFrameDecoder decoder, byte[] stream, ref CountingFrameSink sink, int rounds)
    {
        for (int r = 0; r < rounds; r++)
        {
            for (int i = 0; i < stream.Length; i += 29)
            {
                decoder.Feed(stream.AsSpan(i, Math.Min(29, stream.Length - i)), ref sink);
            }
        }
    }

    private static void AssertNoAllocation(Action body, string what)
    {
        // The delegate itself is allocated before measuring; the body runs on this thread.
        using var gc = CollectionWatch.Start();
        long before = GC.GetAllocatedBytesForCurrentThread();
        body();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"{what} allocated {allocated} bytes in steady state; the hot path must allocate nothing");
        Assert.True(gc.Collections == 0, $"{what} caused collections in steady state: {gc.Describe()}");
    }

    private struct ParsingLineSink : ILineSink
    {
        private EventSlot _slot;

        public long Valid;
        public long Invalid;
        public long Oversized;

        public void OnLine(ReadOnlySpan<byte> line)
        {
            if (JsonEventParser.TryParse(line, ref _slot, out _))
            {
                Valid++;
            }
            else
            {
                Invalid++;
            }
        }

        public void OnOversized() => Oversized++;
    }

    private struct CountingFrameSink : IFrameSink
    {
        public long Frames;
        public double Sum;

        public void OnFrame(ReadOnlySpan<byte> frame, in EventSlot decoded)
        {
            Frames++;
            Sum += decoded.Value;
        }

        public void OnInvalid(ReadOnlySpan<byte> frame, InvalidReason reason)
        {
        }
    }
}
