using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace EventDaemon.Baseline;

/// <summary>
/// Stages joined by bounded channels (65 536 items, the size of eventd's ring, waiting when full so
/// memory stays bounded as eventd's does): readers → filter → aggregate (1 s processing-time
/// windows) → blackhole; or, in passthrough mode, readers → filter (all events) → a TCP sink
/// writing each original line back. The aggregate is bench-e2e's by-type pipeline (type is
/// purchase or click; by type: count, sum, p99) or its per-key one (value ≥ 10 and region not
/// "ap"; by type and key: count, sum, max, p99).
/// </summary>
internal sealed class Pipeline
{
    private const int ChannelCapacity = 65_536;

    private readonly Channel<Event> _ingest = Channel.CreateBounded<Event>(new BoundedChannelOptions(ChannelCapacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
    });

    private readonly Channel<Event> _filtered = Channel.CreateBounded<Event>(new BoundedChannelOptions(ChannelCapacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
        SingleWriter = true,
    });

    private readonly Channel<WindowResult> _results = Channel.CreateUnbounded<WindowResult>();
    private readonly IPEndPoint? _returnTo;
    private readonly bool _perKey;
    private readonly bool _binary;

    public Pipeline(IPEndPoint? returnTo, bool perKey, bool binary)
    {
        _returnTo = returnTo;
        _perKey = perKey;
        _binary = binary;
    }

    public long Received;
    public long Bytes;
    public long Invalid;
    public long Passed;
    public long WindowsEmitted;
    public long Written;

    public Task Start()
    {
        var filter = Task.Run(FilterAsync);
        Task last = _returnTo is null
            ? Task.WhenAll(Task.Run(AggregateAsync), Task.Run(BlackholeAsync))
            : Task.Run(SinkAsync);
        return Task.WhenAll(filter, last);
    }

    public async Task ReadConnectionAsync(TcpClient client)
    {
        using (client)
        using (var reader = new StreamReader(client.GetStream(), Encoding.UTF8))
        {
            string? line;
            while ((line = await reader.ReadLineAsync().ConfigureAwait(false)) is not null)
            {
                Interlocked.Increment(ref Received);
                Interlocked.Add(ref Bytes, line.Length + 1);
                Event? e;
                try
                {
                    e = JsonSerializer.Deserialize(line, BaselineJsonContext.Default.Event);
                }
                catch (JsonException)
                {
                    Interlocked.Increment(ref Invalid);
                    continue;
                }

                if (e is null)
                {
                    Interlocked.Increment(ref Invalid);
                    continue;
                }

                e.Line = line;
                await _ingest.Writer.WriteAsync(e).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Binary frames as a .NET developer reads them: a buffered stream, the 4-byte length, the
    /// frame into a fresh array, fields decoded with <see cref="BinaryPrimitives"/> and
    /// <see cref="Encoding.UTF8"/> (PROTOCOL.md). The opaque payload is not read: like eventd,
    /// binary events have no named fields.
    /// </summary>
    public async Task ReadFramesAsync(TcpClient client)
    {
        using (client)
        await using (var stream = new BufferedStream(client.GetStream(), 64 * 1024))
        {
            byte[] prefix = new byte[4];
            while (true)
            {
                try
                {
                    await stream.ReadExactlyAsync(prefix).ConfigureAwait(false);
                }
                catch (EndOfStreamException)
                {
                    return;
                }

                int length = BinaryPrimitives.ReadInt32LittleEndian(prefix);
                if (length < 28 || length > 65_532)
                {
                    Interlocked.Increment(ref Invalid);
                    return;
                }

                byte[] frame = new byte[length];
                await stream.ReadExactlyAsync(frame).ConfigureAwait(false);
                Interlocked.Increment(ref Received);
                Interlocked.Add(ref Bytes, length + 4);
                byte flags = frame[1];
                int typeLength = BinaryPrimitives.ReadUInt16LittleEndian(frame.AsSpan(20));
                int keyLength = BinaryPrimitives.ReadUInt16LittleEndian(frame.AsSpan(22));
                var e = new Event
                {
                    Ts = (flags & 1) != 0 ? BinaryPrimitives.ReadInt64LittleEndian(frame.AsSpan(4)) : null,
                    Value = (flags & 2) != 0 ? BinaryPrimitives.ReadDoubleLittleEndian(frame.AsSpan(12)) : null,
                    Type = (flags & 4) != 0 ? Encoding.UTF8.GetString(frame, 28, typeLength) : null,
                    Key = (flags & 8) != 0 ? Encoding.UTF8.GetString(frame, 28 + typeLength, keyLength) : null,
                };
                await _ingest.Writer.WriteAsync(e).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The same conditions as the daemon's benchmark configs (binary events have no <c>.region</c>, so eventd's binary row tests value alone).</summary>
    private bool Wanted(Event e) => _returnTo is not null
        ? e.Value >= 0
        : _perKey
            ? e.Value >= 10 && (_binary || (e.Region is string region && region != "ap"))
            : e.Type is "purchase" or "click";

    private async Task FilterAsync()
    {
        await foreach (Event e in _ingest.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (Wanted(e))
            {
                Interlocked.Increment(ref Passed);
                await _filtered.Writer.WriteAsync(e).ConfigureAwait(false);
            }
        }

        _filtered.Writer.Complete();
    }

    private async Task AggregateAsync()
    {
        var groups = new Dictionary<(string Type, string? Key), List<double>>();
        DateTime windowStart = Truncate(DateTime.UtcNow);
        var reader = _filtered.Reader;
        while (true)
        {
            // Wake at least every 100 ms so a window closes on time when traffic stops.
            using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            bool more;
            try
            {
                more = await reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                more = true;
            }

            DateTime now = DateTime.UtcNow;
            if (now >= windowStart.AddSeconds(1))
            {
                Emit(groups, windowStart);
                groups = new Dictionary<(string Type, string? Key), List<double>>();
                windowStart = Truncate(now);
            }

            if (!more)
            {
                Emit(groups, windowStart);
                _results.Writer.Complete();
                return;
            }

            while (reader.TryRead(out Event? e))
            {
                (string, string?) group = (e.Type ?? "", _perKey ? e.Key ?? "" : null);
                if (!groups.TryGetValue(group, out List<double>? values))
                {
                    values = [];
                    groups[group] = values;
                }

                values.Add(e.Value ?? 0);
            }
        }
    }

    private void Emit(Dictionary<(string Type, string? Key), List<double>> groups, DateTime windowStart)
    {
        foreach (((string type, string? key), List<double> values) in groups)
        {
            values.Sort();
            double p99 = values.Count == 0 ? 0 : values[Math.Min(values.Count - 1, (int)Math.Ceiling(values.Count * 0.99) - 1)];
            _results.Writer.TryWrite(new WindowResult(windowStart, type, key, values.Count, values.Sum(), values.Count == 0 ? 0 : values[^1], p99));
        }
    }

    private async Task BlackholeAsync()
    {
        await foreach (WindowResult r in _results.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            Interlocked.Increment(ref WindowsEmitted);
        }
    }

    private async Task SinkAsync()
    {
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(_returnTo!).ConfigureAwait(false);
        await using var writer = new StreamWriter(client.GetStream(), new UTF8Encoding(false), 64 * 1024);
        var reader = _filtered.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            // Write what is there, then flush once: one send per batch, as eventd's tcp sink does.
            while (reader.TryRead(out Event? e))
            {
                await writer.WriteAsync(e.Line).ConfigureAwait(false);
                await writer.WriteAsync('\n').ConfigureAwait(false);
                Interlocked.Increment(ref Written);
            }

            await writer.FlushAsync().ConfigureAwait(false);
        }
    }

    private static DateTime Truncate(DateTime t) => new(t.Ticks - (t.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
}
