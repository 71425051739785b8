using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Hosting;
using EventDaemon.Daemon.Metrics;
using EventDaemon.Daemon.Nats;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Ingest;

namespace EventDaemon.Daemon.Sources;

/// <summary>
/// A JetStream durable pull consumer (SPEC §8): pulls batches of messages over one
/// <see cref="NatsConnection"/>, decodes their bodies with the stream sources' codecs and
/// bad-input table into the ring, and acknowledges each message only once every stage of the
/// ring has finished with its events, so a crash before then gets it delivered again.
/// </summary>
/// <remarks>
/// <para>
/// One thread does everything: pull requests (<c>$JS.API.CONSUMER.MSG.NEXT</c>, one outstanding
/// at a time, for at most <c>batch</c> messages and the bytes one read buffer holds), decoding
/// (the messages of one poll are framed from one buffer, a body per line or per frames, and
/// appended in one ring turn per <see cref="IngestBuffers.StageCapacity"/> events), and acks.
/// The stage threads are never asked anything: a message's ack waits on the ring's gating
/// sequence (the minimum over the last stages' sequences, which is what the sinks have
/// finished with), read by this thread.
/// </para>
/// <para>
/// Each message gets, when its events are published, the ring's cursor as its bound: the cursor
/// is at or past its last event (another source may have published after it, which only makes
/// the bound later). Messages are acknowledged in the order they came, once the gating sequence
/// reaches their bound. A message held longer than half the <c>ack_wait</c> (a sink retrying,
/// the ring full behind a slow sink) gets a progress ack (<c>+WPI</c>) so that the server does not
/// deliver it to another instance meanwhile.
/// </para>
/// <para>
/// Nothing is allocated per message: bodies are copied from the connection's receive buffer into
/// the read buffer, ack subjects into a fixed table (one slot per unacknowledged message, at most
/// <c>max_ack_pending</c>), requests and acks formatted into the connection's send buffer.
/// </para>
/// </remarks>
public sealed partial class NatsSource : Source
{
    /// <summary>The server's default <c>max_payload</c> (1 MiB) plus room for many small messages and their newlines.</summary>
    private const int ReadBytes = (1 << 20) + (64 << 10);

    /// <summary>An ack subject is ~60–120 bytes (<c>$JS.ACK.&lt;stream&gt;.&lt;consumer&gt;.</c> and seven numbers); names are bounded by the server.</summary>
    private const int AckSubjectBytes = 256;

    /// <summary>A pull waits this long for messages on an idle stream; the server then ends it with a 408.</summary>
    private static readonly long PullExpiresNanos = 5_000_000_000;

    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private readonly NatsSourceConfig _config;
    private readonly EventRing _ring;
    private readonly BadInputLog _errors;
    private readonly int _maxEventBytes;
    private readonly NatsConnection _connection;
    private readonly string _description;
    private readonly string _instance;
    private readonly long _progressAfterTicks;

    // One consumer per partition owned (or the one consumer of an unpartitioned source); its pull
    // answers arrive on its own inbox subscription, sid = FirstConsumerSid + index.
    private readonly ConsumerState[] _consumers;
    private readonly NatsPartitionLeases? _leases;
    private int[]? _ownedApplied;
    private int _active;
    private int _nextPull;

    // The table of unacknowledged messages: a circular array indexed by arrival number modulo capacity.
    private readonly int _capacity;
    private readonly long[] _bound;
    private readonly long[] _receivedAt;
    private readonly long[] _progressAt;
    private readonly byte[] _ackSubjects;
    private readonly short[] _ackSubjectLength;
    private long _head;
    private long _boundEnd;
    private long _tail;

    // Read buffers: messages land in _fill; a paused ingest keeps the one it was fed (_heldEnd is
    // the arrival number after its last message) and the other takes messages meanwhile.
    private IngestBuffers _fill;
    private IngestBuffers? _spare;
    private int _fillLength;
    private long _heldEnd = -1;

    private long _pullId;
    private long _nextProgressScan;

    private string? _apiReply;
    private bool _needConsumer = true;
    private bool _poisonLogged;
    private string? _problem;

    private StreamIngest? _ingest;
    private Thread? _thread;
    private volatile bool _stopping;
    private long _stopTimeoutTicks;
    private long _stopDeadline;
    private long _nextConnect;

    public NatsSource(NatsSourceConfig config, SourceMetrics metrics, EventRing ring, BadInputLog errors, int maxEventBytes)
        : base(config.Name, metrics)
    {
        _config = config;
        _ring = ring;
        _errors = errors;
        _maxEventBytes = maxEventBytes;
        _instance = NewInstance();
        _connection = new NatsConnection(config.Url, $"eventd {config.Name} {_instance}");
        _description = $"nats {_connection.Description} stream {config.Stream} consumer {config.Consumer}";
        _connection.Subscribe($"_INBOX.{_instance}.api", ApiSid);
        _consumers = Consumers(config, _instance);
        for (int i = 0; i < _consumers.Length && !config.LeasePartitions; i++)
        {
            // With leases, a consumer's inbox is subscribed while its partition is held (ApplyOwnership).
            _connection.Subscribe(_consumers[i].Inbox, FirstConsumerSid + i);
        }

        if (config.LeasePartitions)
        {
            _leases = new NatsPartitionLeases(config.Url, config.LeaseBucketOrDefault, config.PartitionCount, config.LeaseTtlOrDefault.ToTimeSpan(),
                _instance, $"source '{config.Name}'");
            _description += $", partitions of {config.PartitionCount} claimed through {_leases.Description}";
        }
        else if (config.IsPartitioned)
        {
            _description += $", partitions {string.Join(',', config.Partitions)} of {config.PartitionCount}";
        }
        _progressAfterTicks = config.AckWaitOrDefault.Nanoseconds / 2 * Stopwatch.Frequency / 1_000_000_000;

        _capacity = config.MaxAckPending;
        _bound = new long[_capacity];
        _receivedAt = new long[_capacity];
        _progressAt = new long[_capacity];
        _ackSubjects = new byte[_capacity * AckSubjectBytes];
        _ackSubjectLength = new short[_capacity];
        _fill = new IngestBuffers(ReadBytes, maxEventBytes);
        _spare = new IngestBuffers(ReadBytes, maxEventBytes);
    }

    public NatsSourceMetrics Nats { get; } = new();

    /// <summary>
    /// Why the source cannot consume now (no server reachable, no stream, no lease held); <c>null</c>
    /// while it can. For <c>health</c>.
    /// </summary>
    public string? Problem =>
        Volatile.Read(ref _problem)
        ?? _leases?.Problem
        ?? (_leases is { Owned.Length: 0 } leases
            ? $"source {Name}: owns no partition of {_config.PartitionCount} ({leases.Members} instances share {leases.Description})"
            : null);

    /// <summary>The partitions' leases, when the source claims its partitions through them (<c>partitions = "auto"</c>).</summary>
    public NatsPartitionLeases? Leases => _leases;

    /// <summary>How many partitions the source consumes now: its list, its leases, or 0 when not partitioned.</summary>
    public int PartitionsOwned => _config.IsPartitioned ? Volatile.Read(ref _active) : 0;

    public override string Describe() => _description;

    /// <summary>
    /// Connects and finds or creates the durable consumer. A stream that does not exist is refused
    /// here, in one line naming it; a server that cannot be reached is not (it may come up later):
    /// the source keeps trying and <c>health</c> says so.
    /// </summary>
    public override void Start()
    {
        _ingest = new StreamIngest(_ring, Metrics, _errors, _config.Format, _maxEventBytes, pauseWhenFull: true);
        ApplyOwnership();
        if (!TryConnect(out bool streamMissing) && streamMissing)
        {
            _connection.Disconnect();
            throw new SourceBindException($"source '{Name}': {Problem}");
        }

        if (!_connection.IsConnected)
        {
            Log.Warning($"source '{Name}': {Problem}; retrying every second");
        }

        _thread = new Thread(Run) { Name = $"src-{Name}", IsBackground = true };
        _thread.Start();
        _leases?.Start();
    }

    /// <summary>Stops pulling, appends what was received, and acknowledges what the sinks finish within <paramref name="timeout"/>; the rest is delivered again later.</summary>
    public override void Stop(TimeSpan timeout)
    {
        if (_stopping || _thread is null)
        {
            _connection.Disconnect();
            _leases?.Dispose();
            return;
        }

        _stopTimeoutTicks = (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        _stopping = true;
        _thread.Join();

        // Only once nothing is pulled any more: the leases are written free for the survivors.
        _leases?.Dispose();
    }

    private void Run()
    {
        var handler = new Handler(this);
        while (Turn(ref handler))
        {
        }

        if (_heldEnd >= 0)
        {
            _ingest!.Abandon();
        }

        if (_connection.IsConnected)
        {
            Metrics.ConnectionClosed();
        }

        _connection.Disconnect();
        _leases?.Stop();
    }

    /// <summary>
    /// One pass of the loop: ownership, (re)connection, ingest, acks, pulls, and one wait on the
    /// socket. <c>false</c> once a stop has settled or timed out. Nothing here allocates in steady
    /// state (NatsSourceAllocationTests measures it on this thread).
    /// </summary>
    private bool Turn(ref Handler handler)
    {
        long now = Stopwatch.GetTimestamp();
        if (_stopping && _stopDeadline == 0)
        {
            _stopDeadline = now + _stopTimeoutTicks;
        }

        if (_leases is not null && !ReferenceEquals(_leases.Owned, _ownedApplied))
        {
            ApplyOwnership();
        }

        if ((!_connection.IsConnected || _needConsumer) && !_stopping && now >= _nextConnect && !TryConnect(out _))
        {
            _nextConnect = now + Stopwatch.Frequency;
        }

        Ingest();
        Acknowledge(now);
        if (_stopping)
        {
            bool settled = _heldEnd < 0 && _fillLength == 0 && _head == _tail;
            if (settled || now >= _stopDeadline || !_connection.IsConnected)
            {
                return false;
            }
        }
        else
        {
            Pull(now);
        }

        if (_connection.IsConnected && _connection.Buffered > 0)
        {
            _connection.Flush(out _);
        }

        if (_connection.IsConnected)
        {
            // Short while acks wait on the sinks (their progress wakes no one), long while idle.
            int timeout = _heldEnd >= 0 || _boundEnd > _head ? 1_000 : 50_000;
            if (_connection.Poll(ref handler, timeout, out string? error) < 0)
            {
                Lost(error);
            }
        }
        else
        {
            Thread.Sleep(_heldEnd >= 0 || _fillLength > 0 ? 1 : 20);
        }

        return true;
    }

    /// <summary>Resumes a paused ingest, then feeds what arrived since; binds each message fed to the ring's cursor.</summary>
    private void Ingest()
    {
        StreamIngest ingest = _ingest!;
        if (_heldEnd >= 0)
        {
            ingest.Resume(out IngestBuffers? released);
            if (ingest.IsPaused)
            {
                return;
            }

            _spare = released;
            Bind(_heldEnd);
            _heldEnd = -1;
        }

        if (_fillLength == 0)
        {
            return;
        }

        IngestBuffers fed = _fill;
        int length = _fillLength;
        _fill = _spare!;
        _spare = null;
        _fillLength = 0;
        FrameError error = ingest.Feed(fed, length);
        if (ingest.IsPaused)
        {
            _heldEnd = _tail;
            return;
        }

        if (error != FrameError.None)
        {
            // A body that was not whole frames: start the next read at a frame boundary again.
            ingest.Reset();
        }

        _spare = fed;
        Bind(_tail);
    }

    private void Bind(long end)
    {
        // Every event of these messages is published now: the cursor is at or past the last one.
        long cursor = _ring.Sequencer.Cursor.Value;
        for (long i = _boundEnd; i < end; i++)
        {
            _bound[i % _capacity] = cursor;
        }

        _boundEnd = end;
    }

    /// <summary>Acks, in arrival order, every message whose events every stage has finished with; progress acks for the long-held ones.</summary>
    private void Acknowledge(long now)
    {
        if (!_connection.IsConnected || _needConsumer)
        {
            return;
        }

        long cursor = _ring.Sequencer.Cursor.Value;
        long done = _ring.Sequencer.MinimumGating(cursor);
        long acked = 0;
        long latency = 0;
        while (_head < _boundEnd && _bound[_head % _capacity] <= done)
        {
            int slot = (int)(_head % _capacity);
            if (!_connection.TryPublishPlain(AckSubject(slot), default, "+ACK"u8, out string? error))
            {
                Lost(error);
                break;
            }

            latency += now - _receivedAt[slot];
            acked++;
            _head++;
        }

        if (acked > 0)
        {
            Nats.AddAcks(acked, (long)(latency * (1e9 / Stopwatch.Frequency)));
            Nats.SetInFlight(_tail - _head);
        }

        if (now < _nextProgressScan)
        {
            return;
        }

        _nextProgressScan = now + Stopwatch.Frequency / 4;
        for (long i = _head; i < _tail; i++)
        {
            int slot = (int)(i % _capacity);
            if (now - _progressAt[slot] > _progressAfterTicks)
            {
                if (!_connection.TryPublishPlain(AckSubject(slot), default, "+WPI"u8, out string? error))
                {
                    Lost(error);
                    return;
                }

                _progressAt[slot] = now;
                Nats.AddProgressAck();
            }
        }
    }

    /// <summary>
    /// Asks each consumer consumed for its next batch when its last one is over, nothing waits to
    /// be fed and the table has room. With several consumers, each pull asks for at most its share
    /// of the table and of the read buffer, so that every pull outstanding together fits both.
    /// </summary>
    private void Pull(long now)
    {
        if (!_connection.IsConnected || _needConsumer || _heldEnd >= 0 || _fillLength > 0 || _active == 0)
        {
            return;
        }

        long reserved = 0;
        foreach (ConsumerState c in _consumers)
        {
            if (c.Active && c.PullOutstanding && now < c.PullDeadline)
            {
                reserved += c.PullRemaining;
            }
        }

        int slotShare = Math.Max(1, _capacity / _active);
        int byteShare = Math.Max((ReadBytes - 4096) / _active, Math.Min(_maxEventBytes + 1024, ReadBytes - 4096));
        for (int i = 0; i < _consumers.Length; i++)
        {
            ConsumerState c = _consumers[(_nextPull + i) % _consumers.Length];
            if (!c.Active || (c.PullOutstanding && now < c.PullDeadline))
            {
                continue;
            }

            long free = _capacity - (_tail - _head) - reserved;
            int batch = (int)Math.Min(Math.Min(_config.Batch, slotShare), free);
            if (batch <= 0)
            {
                break;
            }

            if (!RequestBatch(c, batch, byteShare, now))
            {
                return;
            }

            reserved += batch;
        }

        _nextPull = (_nextPull + 1) % _consumers.Length;
    }

    private bool RequestBatch(ConsumerState c, int batch, int maxBytes, long now)
    {
        _pullId++;
        Span<byte> reply = stackalloc byte[c.InboxPrefix.Length + 20];
        c.InboxPrefix.CopyTo(reply);
        Utf8Formatter.TryFormat(_pullId, reply[c.InboxPrefix.Length..], out int digits);
        reply = reply[..(c.InboxPrefix.Length + digits)];

        // {"batch":N,"expires":NS,"max_bytes":B}: max_bytes keeps a pull's messages within its share of the read buffer.
        Span<byte> body = stackalloc byte[96];
        int n = Put(body, 0, "{\"batch\":"u8);
        Utf8Formatter.TryFormat(batch, body[n..], out int w);
        n = Put(body, n + w, ",\"expires\":"u8);
        Utf8Formatter.TryFormat(PullExpiresNanos, body[n..], out w);
        n = Put(body, n + w, ",\"max_bytes\":"u8);
        Utf8Formatter.TryFormat(maxBytes, body[n..], out w);
        n = Put(body, n + w, "}"u8);
        if (!_connection.TryPublishPlain(c.NextSubject, reply, body[..n], out string? error))
        {
            Lost(error);
            return false;
        }

        c.PullId = _pullId;
        c.PullOutstanding = true;
        c.PullRemaining = batch;
        c.PullDeadline = now + (PullExpiresNanos / 1_000_000_000 + 2) * Stopwatch.Frequency;
        return true;
    }

    /// <summary>
    /// A message on the inbox subscription: a stream message (it carries its ack subject as reply;
    /// its subject is the one it was published to), or, without a reply subject, an API answer
    /// (<c>…api</c>) or a pull's status (<c>_INBOX.&lt;instance&gt;.&lt;pull&gt;</c>).
    /// </summary>
    private void OnMessage(ReadOnlySpan<byte> subject, int sid, ReadOnlySpan<byte> replyTo, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload)
    {
        if (sid == ApiSid)
        {
            OnApiReply(payload);
            return;
        }

        int index = sid - FirstConsumerSid;
        if ((uint)index >= (uint)_consumers.Length)
        {
            return;
        }

        ConsumerState consumer = _consumers[index];
        if (replyTo.IsEmpty)
        {
            OnControl(consumer, subject, headers);
            return;
        }

        // Counted against the pull outstanding; a late one of an older pull only ends it sooner.
        if (--consumer.PullRemaining <= 0)
        {
            consumer.PullOutstanding = false;
        }

        bool json = _config.Format == SourceFormat.Json;
        int needed = payload.Length + (json ? 1 : 0);
        // A partition given up or lost still gets what its last pull brings (up to the pull's
        // expiry): consumed here like any other message, each delivered once. Handing those back
        // (-NAK) would not do: the server would deliver them again to that same pull, which still
        // waits for its batch, until max_deliver gave them up.
        if (_tail - _head >= _capacity || needed > ReadBytes - _fillLength || replyTo.Length > AckSubjectBytes)
        {
            // No room (a late answer to a pull given up on): not acknowledged, so delivered again.
            Nats.AddSkipped();
            return;
        }

        long now = Stopwatch.GetTimestamp();
        int slot = (int)(_tail % _capacity);
        replyTo.CopyTo(_ackSubjects.AsSpan(slot * AckSubjectBytes));
        _ackSubjectLength[slot] = (short)replyTo.Length;
        _bound[slot] = long.MaxValue;
        _receivedAt[slot] = now;
        _progressAt[slot] = now;
        _tail++;
        Nats.SetInFlight(_tail - _head);

        Span<byte> into = _fill.Read.AsSpan(_fillLength);
        payload.CopyTo(into);
        _fillLength += payload.Length;
        if (json && (payload.IsEmpty || payload[^1] != (byte)'\n'))
        {
            // One body, one line: a body never runs on into the next message's.
            _fill.Read[_fillLength++] = (byte)'\n';
        }

        // A redelivery says so in its count; but after a consumer leader moved, the new leader may
        // deliver again what the old one had delivered, with a count of 1: a stream sequence this
        // instance has already passed (deliveries come in stream order otherwise) tells those apart.
        (long delivered, long sequence) = ParseAckSubject(replyTo);
        if (delivered > 1 || (sequence != 0 && sequence <= consumer.HighestSequence))
        {
            Nats.AddRedelivered();
        }

        // Per consumer: the partitions' messages interleave in the stream, so another partition's
        // sequences say nothing about this one's order.
        consumer.HighestSequence = Math.Max(consumer.HighestSequence, sequence);

        if (delivered >= _config.MaxDeliver)
        {
            Nats.AddPoison();
            if (!_poisonLogged)
            {
                LogPoison(replyTo, delivered);
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void OnApiReply(ReadOnlySpan<byte> payload) => _apiReply = Encoding.UTF8.GetString(payload);

    /// <summary>A status without a message on a consumer's inbox: 408 (the pull expired), 404, 409 (ended early), 100 (heartbeat).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void OnControl(ConsumerState consumer, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> headers)
    {
        int dot = subject.LastIndexOf((byte)'.');
        if (Utf8Parser.TryParse(subject[(dot + 1)..], out long pullId, out _) && pullId == consumer.PullId
            && headers.Length >= 12 && headers[9] == (byte)'4')
        {
            // Over: ask again, but not at once after a refusal (409: max_ack_pending reached over
            // every instance, a batch too large), which would repeat at the poll's pace.
            consumer.PullOutstanding = headers[11] == (byte)'9';
            consumer.PullRemaining = 0;
            consumer.PullDeadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 10;
            if (headers.IndexOf("Consumer Deleted"u8) >= 0)
            {
                consumer.NeedConsumer = true;
                _needConsumer = true;
            }
        }
    }

    private ReadOnlySpan<byte> AckSubject(int slot) => _ackSubjects.AsSpan(slot * AckSubjectBytes, _ackSubjectLength[slot]);

    /// <summary>
    /// The delivery count and the stream sequence in an ack subject:
    /// <c>$JS.ACK.&lt;stream&gt;.&lt;consumer&gt;.&lt;delivered&gt;.&lt;stream seq&gt;.…</c> (9 tokens), or
    /// with a domain and account hash before the stream (12 tokens, servers 2.10+). 1 and 0 when unreadable.
    /// </summary>
    internal static (long Delivered, long StreamSequence) ParseAckSubject(ReadOnlySpan<byte> ackSubject)
    {
        int tokens = ackSubject.Count((byte)'.') + 1;
        int index = tokens >= 11 ? 6 : 4;
        for (int i = 0; i < index; i++)
        {
            int dot = ackSubject.IndexOf((byte)'.');
            if (dot < 0)
            {
                return (1, 0);
            }

            ackSubject = ackSubject[(dot + 1)..];
        }

        int end = ackSubject.IndexOf((byte)'.');
        if (end < 0 || !Utf8Parser.TryParse(ackSubject[..end], out long delivered, out _))
        {
            return (1, 0);
        }

        ackSubject = ackSubject[(end + 1)..];
        end = ackSubject.IndexOf((byte)'.');
        return Utf8Parser.TryParse(end < 0 ? ackSubject : ackSubject[..end], out long sequence, out _) ? (delivered, sequence) : (delivered, 0);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void LogPoison(ReadOnlySpan<byte> ackSubject, long delivered)
    {
        _poisonLogged = true;
        Log.Warning($"source '{Name}': a message is on its delivery {delivered} of max_deliver {_config.MaxDeliver} ({Encoding.ASCII.GetString(ackSubject)}): "
            + "if it is not acknowledged now the server gives it up; later ones are only counted (nats_poison_total)");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Lost(string? error)
    {
        Volatile.Write(ref _problem, $"source {Name}: {error ?? "connection lost"}");
        if (Metrics.ConnectionsOpen > 0)
        {
            Metrics.ConnectionClosed();
        }

        foreach (ConsumerState c in _consumers)
        {
            c.PullOutstanding = false;
            c.NeedConsumer = true;
        }

        _needConsumer = true;
    }

    /// <summary>Connects (the next server of the list first) and finds or creates the consumer. Cold path.</summary>
    private bool TryConnect(out bool streamMissing)
    {
        streamMissing = false;
        if (!_connection.IsConnected)
        {
            if (!_connection.TryConnect(out string? error))
            {
                Volatile.Write(ref _problem, $"source {Name}: cannot reach any nats server ({error})");
                return false;
            }

            Metrics.ConnectionOpened();
        }

        foreach (ConsumerState c in _consumers)
        {
            if (!c.Active || !c.NeedConsumer)
            {
                continue;
            }

            string? failure = EnsureConsumer(c, out streamMissing);
            if (failure is not null)
            {
                Volatile.Write(ref _problem, failure);
                return false;
            }

            c.NeedConsumer = false;
            c.PullOutstanding = false;
        }

        if (_active == 0 && StreamProblem(out streamMissing) is { } missing)
        {
            // Nothing to find or create yet (no lease held): the stream is checked all the same, so that a missing one is refused at start.
            Volatile.Write(ref _problem, missing);
            return false;
        }

        _needConsumer = false;
        Nats.AddConnect();
        Volatile.Write(ref _problem, null);
        return true;
    }

    /// <summary>Looks the consumer up, and creates it when absent. Returns why it cannot be used, or <c>null</c>.</summary>
    private string? EnsureConsumer(ConsumerState c, out bool streamMissing)
    {
        streamMissing = false;
        string? info = Request($"$JS.API.CONSUMER.INFO.{_config.Stream}.{c.Name}", "", out string? failure);
        if (info is null)
        {
            return failure;
        }

        (int code, string? description) = ApiError(info);
        if (code == 0)
        {
            return null;
        }

        if (code == StreamNotFound)
        {
            streamMissing = true;
            return $"stream '{_config.Stream}' does not exist on {_connection.Description}: create it first (the nats source consumes a stream, it does not create one)";
        }

        if (code != ConsumerNotFound)
        {
            return $"source {Name}: consumer '{c.Name}' on stream '{_config.Stream}': {description}";
        }

        string created = Request($"$JS.API.CONSUMER.DURABLE.CREATE.{_config.Stream}.{c.Name}", ConsumerConfig(c), out failure) ?? "";
        if (failure is not null)
        {
            return failure;
        }

        (code, description) = ApiError(created);
        if (code == 0)
        {
            Log.Info($"source '{Name}': created durable consumer '{c.Name}' on stream '{_config.Stream}'");
            return null;
        }

        // Another instance may have created it in between: use it if it exists now.
        info = Request($"$JS.API.CONSUMER.INFO.{_config.Stream}.{c.Name}", "", out failure);
        return info is not null && ApiError(info).Code == 0
            ? null
            : $"source {Name}: cannot create consumer '{c.Name}' on stream '{_config.Stream}': {description}";
    }

    private string? StreamProblem(out bool streamMissing)
    {
        streamMissing = false;
        string? info = Request($"$JS.API.STREAM.INFO.{_config.Stream}", "", out string? failure);
        if (info is null)
        {
            return failure;
        }

        (int code, string? description) = ApiError(info);
        streamMissing = code == StreamNotFound;
        return code == 0 ? null
            : streamMissing ? $"stream '{_config.Stream}' does not exist on {_connection.Description}: create it first (the nats source consumes a stream, it does not create one)"
            : $"source {Name}: stream '{_config.Stream}': {description}";
    }

    private const int StreamNotFound = 10059;
    private const int ConsumerNotFound = 10014;

    private string ConsumerConfig(ConsumerState c)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{{\"stream_name\":\"{_config.Stream}\",\"config\":{{\"durable_name\":\"{c.Name}\"");
        text.Append(",\"deliver_policy\":\"all\",\"ack_policy\":\"explicit\",\"replay_policy\":\"instant\"");
        text.Append(CultureInfo.InvariantCulture, $",\"ack_wait\":{_config.AckWaitOrDefault.Nanoseconds},\"max_deliver\":{_config.MaxDeliver},\"max_ack_pending\":{_config.MaxAckPending}");
        if (c.Filter is { } subject)
        {
            text.Append(CultureInfo.InvariantCulture, $",\"filter_subject\":\"{subject}\"");
        }

        return text.Append("}}").ToString();
    }

    /// <summary>One JetStream API request and its answer, waited for with a deadline; stream messages arriving meanwhile are kept as usual.</summary>
    private string? Request(string subject, string body, out string? failure)
    {
        _apiReply = null;
        byte[] reply = Encoding.ASCII.GetBytes($"_INBOX.{_instance}.api");
        if (!_connection.TryPublishPlain(Encoding.ASCII.GetBytes(subject), reply, Encoding.UTF8.GetBytes(body), out string? error)
            || !_connection.Flush(out error))
        {
            Lost(error);
            failure = _problem;
            return null;
        }

        var handler = new Handler(this);
        long deadline = Stopwatch.GetTimestamp() + (long)(RequestTimeout.TotalSeconds * Stopwatch.Frequency);
        while (_apiReply is null)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                failure = $"source {Name}: no answer from JetStream to {subject} within {RequestTimeout.TotalSeconds:0} s (is JetStream enabled?)";
                return null;
            }

            if (_connection.Poll(ref handler, 100_000, out error) < 0)
            {
                Lost(error);
                failure = _problem;
                return null;
            }
        }

        failure = null;
        return _apiReply;
    }

    private static (int Code, string? Description) ApiError(string answer)
    {
        try
        {
            using JsonDocument json = JsonDocument.Parse(answer);
            if (json.RootElement.TryGetProperty("error", out JsonElement error))
            {
                int code = error.TryGetProperty("err_code", out JsonElement c) && c.TryGetInt32(out int v) ? v : -1;
                string? description = error.TryGetProperty("description", out JsonElement d) ? d.GetString() : answer;
                return (code, description);
            }

            return (0, null);
        }
        catch (JsonException)
        {
            return (-1, $"unreadable answer: {answer}");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Put(Span<byte> to, int at, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(to[at..]);
        return at + bytes.Length;
    }

    private static string NewInstance()
    {
        // 64 random bits: the inbox of one start of one source, never another's.
        Span<byte> random = stackalloc byte[8];
        RandomNumberGenerator.Fill(random);
        return Convert.ToHexStringLower(random);
    }

    internal readonly struct Handler(NatsSource source) : INatsMessageHandler
    {
        public void OnMessage(ReadOnlySpan<byte> subject, int sid, ReadOnlySpan<byte> replyTo, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload) =>
            source.OnMessage(subject, sid, replyTo, headers, payload);
    }

    private const int ApiSid = 1;
    private const int FirstConsumerSid = 2;

    /// <summary>The consumers of a source: one per partition it may own, or the one durable consumer of an unpartitioned source.</summary>
    private static ConsumerState[] Consumers(NatsSourceConfig config, string instance)
    {
        int[] partitions = config.LeasePartitions ? [.. Enumerable.Range(0, config.PartitionCount)]
            : config.IsPartitioned ? [.. config.Partitions]
            : [-1];
        var consumers = new ConsumerState[partitions.Length];
        for (int i = 0; i < partitions.Length; i++)
        {
            int p = partitions[i];
            string name = p < 0 ? config.Consumer : config.PartitionConsumer(p);
            consumers[i] = new ConsumerState(p, name, p < 0 ? config.Subject : config.PartitionSubject(p),
                Encoding.ASCII.GetBytes($"$JS.API.CONSUMER.MSG.NEXT.{config.Stream}.{name}"), $"_INBOX.{instance}.{i}.");
        }

        return consumers;
    }

    /// <summary>
    /// Which consumers are pulled: every one of a list or of an unpartitioned source; with leases,
    /// those of the partitions held now. A partition given up is no longer pulled (what its last
    /// pull still brings is handed back); one claimed has its consumer found or created first.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ApplyOwnership()
    {
        int[]? owned = _leases?.Owned;
        int active = 0;
        for (int i = 0; i < _consumers.Length; i++)
        {
            ConsumerState c = _consumers[i];
            bool now = owned is null || Array.BinarySearch(owned, c.Partition) >= 0;
            if (now && !c.Active)
            {
                c.NeedConsumer = true;
                c.PullOutstanding = false;
                _needConsumer = true;
                if (owned is not null)
                {
                    _connection.Subscribe(c.Inbox, FirstConsumerSid + i);
                }
            }
            else if (!now && c.Active)
            {
                // A pull cannot be cancelled, but the server skips (and drops) a waiting pull whose
                // reply subject has no interest: without the inbox, the last pull of a partition
                // given up takes nothing more, and the new owner's pull gets the messages.
                _connection.Unsubscribe(FirstConsumerSid + i);
                c.PullOutstanding = false;
            }

            c.Active = now;
            active += now ? 1 : 0;
        }

        Volatile.Write(ref _active, active);
        _ownedApplied = owned;
        if (owned is not null)
        {
            if (_connection.IsConnected && _connection.Buffered > 0)
            {
                // Sent before the lease is written free: the new owner's pull must not queue behind ours.
                _connection.Flush(out _);
            }

            _leases!.Applied(owned);
        }
    }

    /// <summary>One durable consumer's pull state. Owned by the source's thread.</summary>
    private sealed class ConsumerState(int partition, string name, string? filter, byte[] nextSubject, string inboxPrefix)
    {
        /// <summary>The partition it consumes; -1 for the one consumer of an unpartitioned source.</summary>
        public int Partition { get; } = partition;

        public string Name { get; } = name;

        public string? Filter { get; } = filter;

        public byte[] NextSubject { get; } = nextSubject;

        public byte[] InboxPrefix { get; } = Encoding.ASCII.GetBytes(inboxPrefix);

        /// <summary>The subscription its pulls' messages and statuses arrive on: <c>_INBOX.&lt;instance&gt;.&lt;index&gt;.*</c>.</summary>
        public string Inbox { get; } = inboxPrefix + "*";

        public bool Active;
        public bool NeedConsumer = true;
        public long PullId;
        public bool PullOutstanding;
        public int PullRemaining;
        public long PullDeadline;
        public long HighestSequence;
    }
}
