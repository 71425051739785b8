using System.Globalization;
using System.Text;

namespace EventDaemon.Perf.Journal.Format;

/// <summary>
/// The events the writer journals: 1,024 distinct 107-byte JSON lines shaped like the per-key
/// workload of <c>make bench-e2e</c> (19-digit nanosecond <c>ts</c>, <c>type</c>, <c>key</c>,
/// <c>value</c>, <c>region</c>, <c>msg</c>), so that a record takes 40 + 112 = 152 bytes.
/// </summary>
/// <remarks>
/// The lines live in one array, as they would in the daemon's payload arena, and the writer copies
/// each into its record: the copy and the CRC are part of the cost measured.
/// </remarks>
internal sealed class EventCorpus
{
    public const int EventBytes = 107;
    public const int Count = 1024;
    public const int Mask = Count - 1;

    private readonly byte[] _bytes;
    private readonly long[] _eventTimes;

    public EventCorpus()
    {
        // Pinned: a gathering write hands the kernel these addresses, as the daemon would its arena's.
        _bytes = GC.AllocateArray<byte>(Count * EventBytes, pinned: true);
        _eventTimes = new long[Count];
        string[] types = ["click", "view", "purchase"];
        string[] regions = ["eu", "us", "ap"];
        long ts = 1_765_000_000_000_000_000;
        for (int i = 0; i < Count; i++)
        {
            ts += 10_000 + i % 7 * 1_000;
            _eventTimes[i] = ts;
            string head = string.Create(CultureInfo.InvariantCulture,
                $"{{\"ts\":{ts},\"type\":\"{types[i % 3]}\",\"key\":\"user-{i * 37 % 5000:D5}\",\"value\":{i % 100}.5,\"region\":\"{regions[i % 3]}\",\"msg\":\"");
            const string Tail = "\"}";
            int fill = EventBytes - head.Length - Tail.Length;
            if (fill < 0)
            {
                throw new InvalidOperationException($"event {i} is longer than {EventBytes} bytes");
            }

            string line = head + new string((char)('a' + i % 26), fill) + Tail;
            Encoding.UTF8.GetBytes(line, _bytes.AsSpan(i * EventBytes, EventBytes));
        }
    }

    public ReadOnlySpan<byte> Event(long index) => _bytes.AsSpan((int)(index & Mask) * EventBytes, EventBytes);

    public long EventTime(long index) => _eventTimes[(int)(index & Mask)];

    /// <summary>Bytes one journaled event takes in a segment, header and padding included.</summary>
    public static int RecordBytes => RecordHeader.RecordBytes(EventBytes);
}
