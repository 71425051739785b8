using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using EventDaemon.Client;

namespace EventDaemon.LoadGen.Generation;

/// <summary>
/// Events rendered once, before a run, into one buffer; sending copies them and patches the
/// timestamp in place, so the sender spends its time on the socket and not on formatting.
/// </summary>
/// <remarks>
/// JSON events start with <c>{"ts":</c> and 19 digits: every Unix-nanosecond time between 2001 and
/// 2286 has exactly 19, so the timestamp is patched without moving bytes, and the line that comes
/// back from a sink starts with it too (cheap to find). Binary frames carry it at its fixed header
/// offset. A run cycles through the pool (each connection from its own starting point, see
/// <see cref="StartCursor"/>), so the distinct keys a run sends are at most the pool size.
/// </remarks>
internal sealed class EventPool
{
    /// <summary>Where the 19 timestamp digits start in a JSON event.</summary>
    public const int JsonTsOffset = 6;

    /// <summary>Where the little-endian Unix-ns timestamp sits in a binary frame (PROTOCOL.md).</summary>
    public const int FrameTsOffset = 8;

    public const int TsDigits = 19;

    private readonly byte[] _data;
    private readonly int[] _starts;
    private readonly int _count;

    private EventPool(EventFormat format, byte[] data, int[] starts, int maxLength)
    {
        Format = format;
        _data = data;
        _starts = starts;
        _count = starts.Length - 1;
        MaxLength = maxLength;
    }

    public EventFormat Format { get; }

    public int Count => _starts.Length - 1;

    /// <summary>The longest event: a batch with at least this much room takes one more.</summary>
    public int MaxLength { get; }

    public double MeanLength => (double)_starts[^1] / Count;

    public static EventPool Create(EventShape shape, EventFormat format, int count)
    {
        if (count < 1)
        {
            throw new ArgumentException($"pool size {count} is not positive", nameof(count));
        }

        var random = new Random(shape.Seed);
        int totalWeight = shape.Types.Sum(t => t.Weight);
        int regionWeight = shape.Regions.Sum(r => r.Weight);
        int keyCardinality = shape.DistinctGroups ? (count + shape.Types.Length - 1) / shape.Types.Length : shape.KeyCardinality;
        int keyDigits = Math.Max(1, (keyCardinality - 1).ToString(System.Globalization.CultureInfo.InvariantCulture).Length);
        int[]? groups = shape.DistinctGroups ? ShuffledGroups(keyCardinality * shape.Types.Length, random) : null;
        int valueMin = (int)Math.Round(shape.ValueMin * 100);
        int valueMax = (int)Math.Round(shape.ValueMax * 100);
        var data = new List<byte>(count * (shape.MeanSize + 8));
        int[] starts = new int[count + 1];
        int max = 0;
        Span<byte> one = stackalloc byte[8192];
        for (int i = 0; i < count; i++)
        {
            string type;
            int keyIndex;
            if (groups is null)
            {
                type = Pick(shape.Types, random.Next(totalWeight));
                keyIndex = random.Next(keyCardinality);
            }
            else
            {
                type = shape.Types[groups[i] % shape.Types.Length].Name;
                keyIndex = groups[i] / shape.Types.Length;
            }

            string key = "user-" + keyIndex.ToString("D" + keyDigits, System.Globalization.CultureInfo.InvariantCulture);
            double value = random.Next(valueMin, valueMax) / 100.0;
            string region = Pick(shape.Regions, random.Next(regionWeight));
            int length = format == EventFormat.Json
                ? RenderJson(one, type, key, value, region, shape.MeanSize, random)
                : RenderFrame(one, type, key, value, region, shape.MeanSize, random);
            starts[i] = data.Count;
            data.AddRange(one[..length]);
            max = Math.Max(max, length);
        }

        starts[count] = data.Count;
        return new EventPool(format, [.. data], starts, max);
    }

    /// <summary>
    /// Where connection <paramref name="connection"/> of <paramref name="connections"/> starts in the
    /// pool: evenly apart, so that together they send different events (and keys) rather than the
    /// same ones side by side.
    /// </summary>
    public int StartCursor(int connection, int connections) => (int)((long)_count * connection / Math.Max(1, connections));

    /// <summary>
    /// Copies the event at <paramref name="cursor"/> into <paramref name="destination"/> with its
    /// timestamp, moves the cursor on (wrapping at the end of the pool) and returns the length.
    /// </summary>
    /// <remarks>A compare, not a division, wraps the cursor: the floors take tens of millions of events a second from one sender thread.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Write(ref int cursor, long unixNs, Span<byte> destination)
    {
        int i = Next(ref cursor);
        int start = _starts[i];
        int length = _starts[i + 1] - start;
        _data.AsSpan(start, length).CopyTo(destination);
        if (Format == EventFormat.Json)
        {
            FormatTs(unixNs, destination.Slice(JsonTsOffset, TsDigits));
        }
        else
        {
            BinaryPrimitives.WriteInt64LittleEndian(destination[FrameTsOffset..], unixNs);
        }

        return length;
    }

    /// <summary>Like <see cref="Write(ref int, long, Span{byte})"/> with the 19 JSON digits already formatted (one format per batch).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Write(ref int cursor, long unixNs, ReadOnlySpan<byte> tsDigits, Span<byte> destination)
    {
        int i = Next(ref cursor);
        int start = _starts[i];
        int length = _starts[i + 1] - start;
        _data.AsSpan(start, length).CopyTo(destination);
        if (Format == EventFormat.Json)
        {
            tsDigits.CopyTo(destination[JsonTsOffset..]);
        }
        else
        {
            BinaryPrimitives.WriteInt64LittleEndian(destination[FrameTsOffset..], unixNs);
        }

        return length;
    }

    /// <summary>Writes a Unix-ns time as exactly 19 ASCII digits.</summary>
    public static void FormatTs(long unixNs, Span<byte> digits)
    {
        ulong v = (ulong)unixNs;
        for (int d = TsDigits - 1; d >= 0; d--)
        {
            ulong q = v / 10;
            digits[d] = (byte)('0' + (int)(v - (q * 10)));
            v = q;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Next(ref int cursor)
    {
        int i = cursor;
        cursor = i + 1 == _count ? 0 : i + 1;
        return i;
    }

    /// <summary>0 … <paramref name="n"/> − 1 in a random order (Fisher–Yates).</summary>
    private static int[] ShuffledGroups(int n, Random random)
    {
        int[] groups = new int[n];
        for (int i = 0; i < n; i++)
        {
            groups[i] = i;
        }

        random.Shuffle(groups);
        return groups;
    }

    private static string Pick((string Name, int Weight)[] types, int roll)
    {
        foreach ((string name, int weight) in types)
        {
            if (roll < weight)
            {
                return name;
            }

            roll -= weight;
        }

        return types[^1].Name;
    }

    private static int RenderJson(Span<byte> d, string type, string key, double value, string region, int meanSize, Random random)
    {
        // ts first (see remarks), then the well-known fields, then what real events carry besides.
        string head = $"{{\"ts\":{new string('0', TsDigits)},\"type\":\"{type}\",\"key\":\"{key}\",\"value\":{value.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)},\"region\":\"{region}\",\"msg\":\"";
        int at = Encoding.UTF8.GetBytes(head, d);
        at += Padding(d[at..], meanSize - head.Length - 3, random);
        d[at++] = (byte)'"';
        d[at++] = (byte)'}';
        d[at++] = (byte)'\n';
        return at;
    }

    private static int RenderFrame(Span<byte> d, string type, string key, double value, string region, int meanSize, Random random)
    {
        byte[] typeBytes = Encoding.UTF8.GetBytes(type);
        byte[] keyBytes = Encoding.UTF8.GetBytes(key);
        Span<byte> payload = stackalloc byte[4096];
        int p = Encoding.UTF8.GetBytes("region=" + region + ";msg=", payload);
        int fixedPart = BinaryFrameWriter.GetFrameLength(typeBytes.Length, keyBytes.Length, p);
        p += Padding(payload[p..], meanSize - fixedPart, random);
        var e = new FrameEvent { Timestamp = 0, Type = typeBytes, Key = keyBytes, Value = value, Payload = payload[..p] };
        return BinaryFrameWriter.Write(d, in e);
    }

    /// <summary>Lower-case text of a random length averaging <paramref name="mean"/> (±50 %), at most 4000 bytes.</summary>
    private static int Padding(Span<byte> d, int mean, Random random)
    {
        if (mean <= 0)
        {
            return 0;
        }

        int length = Math.Min(4000, random.Next(mean / 2, (mean * 3 / 2) + 1));
        for (int i = 0; i < length; i++)
        {
            d[i] = (byte)('a' + random.Next(26));
        }

        return length;
    }
}
