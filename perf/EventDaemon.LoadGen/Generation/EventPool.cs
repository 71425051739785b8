using System.Buffers.Binary;
using System.Numerics;
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
/// offset. The pool size is a power of two; a run cycles through it, so the distinct keys a run
/// sends are at most the pool size.
/// </remarks>
internal sealed class EventPool
{
    /// <summary>Where the 19 timestamp digits start in a JSON event.</summary>
    public const int JsonTsOffset = 6;

    /// <summary>Where the little-endian Unix-ns timestamp sits in a binary frame (PROTOCOL.md).</summary>
    public const int FrameTsOffset = 8;

    public const int TsDigits = 19;

    private static readonly string[] Regions = ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-south-1"];

    private readonly byte[] _data;
    private readonly int[] _starts;
    private readonly int _mask;

    private EventPool(EventFormat format, byte[] data, int[] starts, int maxLength)
    {
        Format = format;
        _data = data;
        _starts = starts;
        _mask = starts.Length - 2;
        MaxLength = maxLength;
    }

    public EventFormat Format { get; }

    public int Count => _starts.Length - 1;

    /// <summary>The longest event: a batch with at least this much room takes one more.</summary>
    public int MaxLength { get; }

    public double MeanLength => (double)_starts[^1] / Count;

    public static EventPool Create(EventShape shape, EventFormat format, int count)
    {
        if (!BitOperations.IsPow2(count))
        {
            throw new ArgumentException($"pool size {count} is not a power of two", nameof(count));
        }

        var random = new Random(shape.Seed);
        int totalWeight = shape.Types.Sum(t => t.Weight);
        int keyDigits = Math.Max(1, (shape.KeyCardinality - 1).ToString(System.Globalization.CultureInfo.InvariantCulture).Length);
        var data = new List<byte>(count * (shape.MeanSize + 8));
        int[] starts = new int[count + 1];
        int max = 0;
        Span<byte> one = stackalloc byte[8192];
        for (int i = 0; i < count; i++)
        {
            string type = Pick(shape.Types, random.Next(totalWeight));
            string key = "user-" + random.Next(shape.KeyCardinality).ToString("D" + keyDigits, System.Globalization.CultureInfo.InvariantCulture);
            double value = random.Next(1, 50_000) / 100.0;
            string region = Regions[random.Next(Regions.Length)];
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

    /// <summary>Copies event <paramref name="index"/> (any integer; it wraps) into <paramref name="destination"/> with its timestamp; returns its length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Write(long index, long unixNs, Span<byte> destination)
    {
        int i = (int)(index & _mask);
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

    /// <summary>Like <see cref="Write(long, long, Span{byte})"/> with the 19 JSON digits already formatted (one format per batch).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Write(long index, long unixNs, ReadOnlySpan<byte> tsDigits, Span<byte> destination)
    {
        int i = (int)(index & _mask);
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
