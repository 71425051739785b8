using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace EventDaemon.Baseline;

/// <summary>
/// Stages joined by bounded channels (65 536 items, the size of eventd's ring, waiting when full so
/// memory stays bounded as eventd's does): readers → filter → aggregate (1 s processing-time windows
/// grouped by type: count, sum, p99) → blackhole; or, in passthrough mode, readers → filter (all
/// events) → a TCP sink writing each original line back.
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

    public Pipeline(IPEndPoint? returnTo) => _returnTo = returnTo;

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

    /// <summary>The same conditions as the daemon's benchmark configs.</summary>
    private bool Wanted(Event e) => _returnTo is null
        ? e.Type is "purchase" or "click"
        : e.Value >= 0;

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
        var groups = new Dictionary<string, List<double>>();
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
                groups = new Dictionary<string, List<double>>();
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
                string type = e.Type ?? "";
                if (!groups.TryGetValue(type, out List<double>? values))
                {
                    values = [];
                    groups[type] = values;
                }

                values.Add(e.Value ?? 0);
            }
        }
    }

    private void Emit(Dictionary<string, List<double>> groups, DateTime windowStart)
    {
        foreach ((string type, List<double> values) in groups)
        {
            values.Sort();
            double p99 = values.Count == 0 ? 0 : values[Math.Min(values.Count - 1, (int)Math.Ceiling(values.Count * 0.99) - 1)];
            _results.Writer.TryWrite(new WindowResult(windowStart, type, values.Count, values.Sum(), p99));
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
