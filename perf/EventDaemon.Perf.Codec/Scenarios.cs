using System.Text.Json;
using EventDaemon.Events;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Fields;

namespace EventDaemon.Perf.Codec;

/// <summary>
/// The decoding loops measured. Each returns a checksum so the work cannot be optimised away.
/// Stream scenarios feed the buffer in 64 KiB reads, as a socket source would.
/// </summary>
internal static class Scenarios
{
    /// <summary>A typical socket read size: lines and frames are cut at its boundaries.</summary>
    public const int ReadSize = 64 * 1024;

    public static double JsonLines(LineFramer framer, byte[] stream)
    {
        var sink = new ParseSink();
        for (int i = 0; i < stream.Length; i += ReadSize)
        {
            framer.Feed(stream.AsSpan(i, Math.Min(ReadSize, stream.Length - i)), ref sink);
        }

        framer.Complete(ref sink);
        return sink.Checksum + sink.Invalid;
    }

    /// <summary>The per-key pipeline's catalog: the filter reads <c>.region</c>, the aggregate hashes (type, key).</summary>
    public static FieldCatalog PerKeyCatalog()
    {
        var builder = new FieldCatalog.Builder();
        builder.AddField("region");
        builder.AddKey([KeyPart.Type, KeyPart.Key]);
        return builder.Build();
    }

    /// <summary>The by-type pipeline's catalog: the filter reads only <c>type</c> (well-known), the aggregate hashes (type).</summary>
    public static FieldCatalog ByTypeCatalog()
    {
        var builder = new FieldCatalog.Builder();
        builder.AddKey([KeyPart.Type]);
        return builder.Build();
    }

    /// <summary>As <see cref="JsonLines"/>, with the catalog's row filled per line (what a ring with stages asks for).</summary>
    public static double JsonLinesWithCatalog(LineFramer framer, byte[] stream, FieldCatalog catalog) =>
        FeedCatalog(framer, stream, catalog, inOrder: false);

    /// <summary>
    /// As <see cref="JsonLinesWithCatalog"/>, decoding the way a connection's ingest does: with the
    /// stream's <see cref="MemberOrder"/>, so names where the previous line had them are settled by one compare.
    /// </summary>
    public static double JsonLinesInOrder(LineFramer framer, byte[] stream, FieldCatalog catalog) =>
        FeedCatalog(framer, stream, catalog, inOrder: true);

    private static double FeedCatalog(LineFramer framer, byte[] stream, FieldCatalog catalog, bool inOrder)
    {
        Span<byte> row = stackalloc byte[catalog.RowBytes];
        var sink = new CatalogSink(catalog, row, inOrder);
        for (int i = 0; i < stream.Length; i += ReadSize)
        {
            framer.Feed(stream.AsSpan(i, Math.Min(ReadSize, stream.Length - i)), ref sink);
        }

        framer.Complete(ref sink);
        return sink.Checksum + sink.Invalid;
    }

    public static double BinaryFrames(BinaryFrameDecoder decoder, byte[] stream)
    {
        var sink = new FrameSink();
        for (int i = 0; i < stream.Length; i += ReadSize)
        {
            decoder.Feed(stream.AsSpan(i, Math.Min(ReadSize, stream.Length - i)), ref sink);
        }

        return sink.Checksum + (int)decoder.Complete();
    }

    /// <summary>The parser alone on pre-split lines: the same work the baseline is charged for.</summary>
    public static double JsonParseOnly(byte[][] lines)
    {
        var slot = default(EventSlot);
        double checksum = 0;
        foreach (byte[] line in lines)
        {
            if (JsonEventParser.TryParse(line, ref slot, out InvalidReason _))
            {
                checksum += slot.Value + slot.TypeLength + slot.KeyLength + (slot.Timestamp & 0xFF);
            }
        }

        return checksum;
    }

    /// <summary>Baseline: JsonSerializer into a POCO per line (lines pre-split, so framing is not even charged to it).</summary>
    public static double Poco(byte[][] lines)
    {
        double checksum = 0;
        foreach (byte[] line in lines)
        {
            EventPoco? e = JsonSerializer.Deserialize(line, PocoContext.Default.EventPoco);
            checksum += (e?.Value ?? 0) + (e?.Type?.Length ?? 0) + (e?.Key?.Length ?? 0) + ((e?.Ts ?? 0) & 0xFF);
        }

        return checksum;
    }

    /// <summary>
    /// The alternative design: Utf8JsonReader (a struct, allocation-free) validating each line and
    /// picking out the four fields. Measured to decide against it for the hot path.
    /// </summary>
    public static double Utf8Reader(byte[][] lines)
    {
        double checksum = 0;
        foreach (byte[] line in lines)
        {
            var reader = new Utf8JsonReader(line);
            try
            {
                reader.Read();
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.CurrentDepth != 1)
                    {
                        continue;
                    }

                    if (reader.ValueTextEquals("value"u8))
                    {
                        reader.Read();
                        checksum += reader.GetDouble();
                    }
                    else if (reader.ValueTextEquals("ts"u8))
                    {
                        reader.Read();
                        checksum += reader.GetInt64() & 0xFF;
                    }
                    else if (reader.ValueTextEquals("type"u8) || reader.ValueTextEquals("key"u8))
                    {
                        reader.Read();
                        checksum += reader.ValueSpan.Length;
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            catch (JsonException)
            {
                checksum -= 1;
            }
        }

        return checksum;
    }

    private struct ParseSink : ILineSink
    {
        // Not readonly: the slot is filled in place for every line.
        private EventSlot _slot;

        public double Checksum;
        public int Invalid;

        public void OnLine(ReadOnlySpan<byte> line)
        {
            if (JsonEventParser.TryParse(line, ref _slot, out InvalidReason _))
            {
                Checksum += _slot.Value + _slot.TypeLength + _slot.KeyLength + (_slot.Timestamp & 0xFF);
            }
            else
            {
                Invalid++;
            }
        }

        public void OnOversized() => Invalid++;
    }

    private ref struct CatalogSink : ILineSink
    {
        private readonly FieldCatalog _catalog;
        private readonly Span<byte> _row;
        private readonly bool _inOrder;

        // Not readonly: the slot is filled (and the order learned) in place for every line.
        private EventSlot _slot;
        private MemberOrder _order;

        public double Checksum;
        public int Invalid;

        public CatalogSink(FieldCatalog catalog, Span<byte> row, bool inOrder)
        {
            _catalog = catalog;
            _row = row;
            _inOrder = inOrder;
        }

        public void OnLine(ReadOnlySpan<byte> line)
        {
            bool decoded = _inOrder
                ? JsonEventParser.TryParse(line, ref _slot, _catalog, _row, ref _order, out InvalidReason _)
                : JsonEventParser.TryParse(line, ref _slot, _catalog, _row, out InvalidReason _);
            if (decoded)
            {
                Checksum += _slot.Value + _slot.KeyLength + (_slot.Timestamp & 0xFF)
                    + (_catalog.FieldCount != 0 ? _catalog.Fields(_row)[0].Length : 0) + (_catalog.KeyCount != 0 ? _catalog.Hashes(_row)[0] : 0);
            }
            else
            {
                Invalid++;
            }
        }

        public void OnOversized() => Invalid++;
    }

    private struct FrameSink : IFrameSink
    {
        public double Checksum;

        public void OnFrame(ReadOnlySpan<byte> frame, in EventSlot decoded) =>
            Checksum += decoded.Value + decoded.TypeLength + decoded.KeyLength + (decoded.Timestamp & 0xFF);

        public void OnInvalid(ReadOnlySpan<byte> frame, InvalidReason reason) => Checksum -= 1;
    }
}
