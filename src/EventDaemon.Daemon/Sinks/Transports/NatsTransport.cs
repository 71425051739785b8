using System.Buffers.Text;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using EventDaemon.Daemon.Nats;
using EventDaemon.Events.Fields;

namespace EventDaemon.Daemon.Sinks.Transports;

/// <summary>
/// Publishes every line of a batch (one event's JSON, without its newline) to a JetStream stream
/// as one message, and counts the batch written only once JetStream has acknowledged every one.
/// </summary>
/// <remarks>
/// <para>
/// Each message carries <c>Nats-Msg-Id: &lt;instance&gt;-&lt;sequence&gt;</c> and its own reply
/// subject <c>_INBOX.&lt;instance&gt;.&lt;sequence&gt;</c>; one wildcard subscription
/// <c>_INBOX.&lt;instance&gt;.*</c> receives every PubAck, so nothing is allocated or looked up
/// per message. The instance is random per start, the sequence counts events: within the
/// stream's duplicate window (2 minutes by default) JetStream stores a replayed message once and
/// answers <c>"duplicate":true</c>, which counts as success.
/// </para>
/// <para>
/// At most <c>maxInFlight</c> messages wait for their PubAck; a full window blocks the sink's
/// thread while it reads acknowledgements, and the ring fills behind it (backpressure). A batch
/// fails, and the sink retries it with backoff counting <c>sink_errors_total</c>, when a PubAck
/// is an error (<c>{"error":…}</c>, or no stream captures the subject), when none arrives within
/// <c>ackTimeout</c>, or when the connection breaks. The retry offers the same batch again: its
/// messages keep their ids, those already acknowledged are not sent again, and any whose PubAck
/// was lost on a broken connection are sent again and come back as duplicates.
/// </para>
/// <para>
/// Guarantee: at-least-once into the stream; a batch is counted written only when the stream
/// holds all of it. Replays across a restart of the daemon are not deduplicated (the instance
/// changes), nor after the duplicate window.
/// </para>
/// <para>
/// Partitioned (<c>{partition}</c> in the subject): each event goes to the subject with its
/// partition number in place of <c>{partition}</c>, <see cref="PartitionOf"/> of its
/// <c>partition_by</c> field: the same value always lands on the same subject, so one consumer
/// filtering that subject sees every event of the group.
/// </para>
/// </remarks>
public readonly struct NatsTransport : ISinkTransport
{
    private readonly Publisher _publisher;

    /// <param name="url">One server or a comma-separated list, <c>nats://host:port</c>.</param>
    /// <param name="subject">The subject every event is published to; a stream must capture it.</param>
    /// <param name="maxInFlight">Messages sent and not yet acknowledged, at most.</param>
    /// <param name="ackTimeout">How long a batch waits for its next PubAck before it fails; 5 s when <c>null</c>.</param>
    /// <param name="instance">The message id's prefix; random when <c>null</c>.</param>
    /// <param name="partitionBy">The top-level field whose value picks the partition, with <paramref name="partitions"/> and <c>{partition}</c> in the subject.</param>
    /// <param name="partitions">How many partitions; 0 when the subject has no <c>{partition}</c>.</param>
    public NatsTransport(string url, string subject, int maxInFlight = DefaultMaxInFlight, TimeSpan? ackTimeout = null, string? instance = null,
        string? partitionBy = null, int partitions = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(subject);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInFlight, 1);
        bool partitioned = subject.Contains(PartitionToken, StringComparison.Ordinal);
        if (subject.Replace(PartitionToken, "0", StringComparison.Ordinal).AsSpan().IndexOfAny(" \t\r\n*>{}") >= 0)
        {
            throw new ArgumentException($"'{subject}' is not a subject to publish to (no wildcards or spaces; {PartitionToken} at most as written)", nameof(subject));
        }

        if (partitioned != (partitions > 0) || (partitioned && string.IsNullOrEmpty(partitionBy)))
        {
            throw new ArgumentException($"'{subject}': {PartitionToken} in the subject goes with partition_by and partitions, and only with them", nameof(subject));
        }

        _publisher = new Publisher(url, subject, maxInFlight, ackTimeout ?? TimeSpan.FromSeconds(5), instance ?? NewInstance(), partitionBy, partitions);
    }

    /// <summary>What a partitioned subject holds in place of the partition's number.</summary>
    public const string PartitionToken = "{partition}";

    /// <summary>
    /// The partition of one event's JSON line: the raw bytes of its top-level <paramref name="field"/>
    /// (a string's bytes between its quotes, escapes as written; a number's text) hashed with
    /// 64-bit FNV-1a and MurmurHash3's fmix64 finisher, then mapped to [0, <paramref name="partitions"/>)
    /// by the hash's high 32 bits (<c>hi32 × partitions &gt;&gt; 32</c>). An event without the field,
    /// or with an object or array there, goes to partition 0.
    /// </summary>
    /// <remarks>
    /// Not the daemon's group-key hash: that one is seeded at random per process (hash flooding),
    /// while a partition must be the same in every process, on every machine, in every version,
    /// since ingest instances and the aggregation tier must agree on it. Pinned by a test.
    /// </remarks>
    public static int PartitionOf(ReadOnlySpan<byte> jsonLine, ReadOnlySpan<byte> field, int partitions)
    {
        if (!JsonFieldReader.TryGetField(jsonLine, field, out JsonScalar value))
        {
            return 0;
        }

        ulong hash = 14695981039346656037;
        foreach (byte b in value.RawIn(jsonLine))
        {
            hash = (hash ^ b) * 1099511628211;
        }

        hash = GroupKey.Avalanche(hash);
        return (int)(((hash >> 32) * (uint)partitions) >> 32);
    }

    /// <summary>4,096: enough to keep a loopback or LAN server busy (≈200k msg/s measured for issue 14), bounded memory.</summary>
    public const int DefaultMaxInFlight = 4096;

    /// <summary>The prefix of every message id and reply subject of this sink.</summary>
    public string Instance => _publisher.Instance;

    /// <remarks>This and the counters below are written by the sink's thread and read with <see cref="Volatile"/> from any.</remarks>
    public long Acknowledged => Volatile.Read(ref _publisher.Acknowledged);

    /// <summary>PubAcks that said the stream already held the message (replays it dropped).</summary>
    public long Duplicates => Volatile.Read(ref _publisher.Duplicates);

    /// <summary>PubAcks that were errors, and messages that got no PubAck in time.</summary>
    public long Failures => Volatile.Read(ref _publisher.Failures);

    public bool IsConnected => _publisher.Connection.IsConnected;

    public bool IsReady => _publisher.Connection.IsConnected;

    public string Describe() => _publisher.Description;

    /// <summary>Connects lazily, so a server that is not up yet does not stop the daemon from starting.</summary>
    public void Open()
    {
    }

    public bool TryWrite(ReadOnlySpan<byte> batch, out string? error) => _publisher.TryWrite(batch, out error);

    public void Tick(long nowTimestamp) => _publisher.Tick(nowTimestamp);

    public void Close() => _publisher.Connection.Disconnect();

    /// <summary>A full window of unacknowledged messages waits on the sink's thread; a refused write is always a failure.</summary>
    public bool IsBlocked => false;

    public long BlockedSince => 0;

    /// <summary>Events published again when a failed batch was retried: those in flight when it failed, whose PubAck never came.</summary>
    public long ResentEvents => Volatile.Read(ref _publisher.Resent);

    /// <summary>The next batch gets new message ids, even if its bytes equal the one given up.</summary>
    public void GiveUp() => _publisher.GiveUp();

    private static string NewInstance()
    {
        // 64 random bits: two daemons (or two starts of one) never share message ids.
        Span<byte> random = stackalloc byte[8];
        RandomNumberGenerator.Fill(random);
        return Convert.ToHexStringLower(random);
    }

    private sealed class Publisher
    {
        private const byte Unsent = 0;
        private const byte InFlight = 1;
        private const byte Done = 2;
        private const byte Failed = 3;
        private const int PollMicroseconds = 100_000;

        public readonly NatsConnection Connection;
        public readonly string Instance;
        public readonly string Description;
        public long Acknowledged;
        public long Duplicates;
        public long Failures;
        public long Resent;

        private readonly byte[] _subject;

        // Partitioned: the subject's bytes before and after {partition}, and the field that picks it.
        private readonly byte[] _subjectPrefix = [];
        private readonly byte[] _subjectSuffix = [];
        private readonly byte[] _partitionField = [];
        private readonly int _partitions;
        private readonly byte[] _replyPrefix;
        private readonly byte[] _idPrefix;
        private readonly int _maxInFlight;
        private readonly long _ackTimeout;

        // Per line of the current batch; grown (cold) to the largest batch seen, never shrunk.
        private int[] _starts = new int[256];
        private int[] _lengths = new int[256];
        private byte[] _status = new byte[256];

        private long _nextSequence = 1;
        private long _base;
        private int _count;
        private int _done;
        private int _inFlight;
        private int _failed;
        private string? _failure;

        // The batch that failed, to recognise it when the sink offers it again.
        private bool _pending;
        private int _pendingLength;
        private ulong _pendingHash;

        private long _nextConnectAttempt;

        public Publisher(string url, string subject, int maxInFlight, TimeSpan ackTimeout, string instance, string? partitionBy, int partitions)
        {
            Instance = instance;
            Connection = new NatsConnection(url, $"eventd {instance}");
            _subject = Encoding.ASCII.GetBytes(subject);
            if (partitions > 0)
            {
                int at = subject.IndexOf(PartitionToken, StringComparison.Ordinal);
                _subjectPrefix = Encoding.ASCII.GetBytes(subject[..at]);
                _subjectSuffix = Encoding.ASCII.GetBytes(subject[(at + PartitionToken.Length)..]);
                _partitionField = Encoding.UTF8.GetBytes(partitionBy!.TrimStart('.'));
                _partitions = partitions;
            }

            _replyPrefix = Encoding.ASCII.GetBytes($"_INBOX.{instance}.");
            _idPrefix = Encoding.ASCII.GetBytes($"{instance}-");
            _maxInFlight = maxInFlight;
            _ackTimeout = (long)(ackTimeout.TotalSeconds * Stopwatch.Frequency);
            Description = $"nats {Connection.Description} {subject}";
            Connection.Subscribe($"_INBOX.{instance}.*", 1);
        }

        public bool TryWrite(ReadOnlySpan<byte> batch, out string? error)
        {
            Begin(batch);
            if (!Connection.IsConnected && !Connection.TryConnect(out error))
            {
                return Fail(batch);
            }

            var acks = new AckHandler(this);
            int cursor = 0;
            long lastProgress = Stopwatch.GetTimestamp();
            while (true)
            {
                while (cursor < _count && _inFlight < _maxInFlight)
                {
                    if (_status[cursor] != Done && !Publish(batch, cursor, out error))
                    {
                        return Fail(batch);
                    }

                    cursor++;
                }

                if (!Connection.Flush(out error))
                {
                    return Fail(batch);
                }

                if (_done == _count)
                {
                    _pending = false;
                    error = null;
                    return true;
                }

                if (_inFlight == 0 && cursor == _count)
                {
                    // Everything answered and some were errors: the sink backs off and offers the batch again.
                    error = $"{Description}: {_failed} of {_count} not stored: {_failure}";
                    return Fail(batch);
                }

                int n = Connection.Poll(ref acks, PollMicroseconds, out error);
                if (n < 0)
                {
                    return Fail(batch);
                }

                long now = Stopwatch.GetTimestamp();
                if (n > 0)
                {
                    lastProgress = now;
                }
                else if (now - lastProgress > _ackTimeout)
                {
                    Volatile.Write(ref Failures, Failures + _inFlight);
                    error = $"{Description}: no PubAck for {_inFlight} messages within {TimeSpan.FromTicks(_ackTimeout * TimeSpan.TicksPerSecond / Stopwatch.Frequency).TotalSeconds:0.#} s";
                    return Fail(batch);
                }
            }
        }

        public void Tick(long now)
        {
            if (Connection.IsConnected)
            {
                // Answers the server's PINGs and takes late PubAcks while idle.
                var acks = new AckHandler(this);
                Connection.Poll(ref acks, 0, out _);
            }
            else if (now >= _nextConnectAttempt && _nextConnectAttempt != 0)
            {
                _nextConnectAttempt = Connection.TryConnect(out _) ? 0 : now + Stopwatch.Frequency;
            }
        }

        public void GiveUp() => _pending = false;

        /// <summary>Numbers the batch's lines, or keeps their numbers and states when it is the batch that failed last.</summary>
        private void Begin(ReadOnlySpan<byte> batch)
        {
            if (_pending && batch.Length == _pendingLength && Hash(batch) == _pendingHash)
            {
                // The same batch again: same ids; what was in flight on a broken connection is sent again.
                long resent = 0;
                for (int i = 0; i < _count; i++)
                {
                    if (_status[i] != Done)
                    {
                        resent += _status[i] == Unsent ? 0 : 1;
                        _status[i] = Unsent;
                    }
                }

                Volatile.Write(ref Resent, Resent + resent);

                _inFlight = 0;
                _failed = 0;
                return;
            }

            int count = 0;
            int start = 0;
            while (start < batch.Length)
            {
                int end = batch[start..].IndexOf((byte)'\n');
                int length = end < 0 ? batch.Length - start : end;
                if (count == _starts.Length)
                {
                    Grow();
                }

                _starts[count] = start;
                _lengths[count] = length;
                _status[count] = Unsent;
                count++;
                start += length + 1;
            }

            _count = count;
            _base = _nextSequence;
            _nextSequence += count;
            _done = 0;
            _inFlight = 0;
            _failed = 0;
            _pending = false;
        }

        private bool Publish(ReadOnlySpan<byte> batch, int index, out string? error)
        {
            long sequence = _base + index;
            Span<byte> reply = stackalloc byte[_replyPrefix.Length + 20];
            _replyPrefix.CopyTo(reply);
            Utf8Formatter.TryFormat(sequence, reply[_replyPrefix.Length..], out int digits);
            reply = reply[..(_replyPrefix.Length + digits)];
            Span<byte> id = stackalloc byte[_idPrefix.Length + 20];
            _idPrefix.CopyTo(id);
            reply[_replyPrefix.Length..].CopyTo(id[_idPrefix.Length..]);
            id = id[..(_idPrefix.Length + digits)];
            ReadOnlySpan<byte> line = batch.Slice(_starts[index], _lengths[index]);
            scoped ReadOnlySpan<byte> subject = _subject;
            Span<byte> partitioned = stackalloc byte[_partitions > 0 ? _subjectPrefix.Length + 11 + _subjectSuffix.Length : 0];
            if (_partitions > 0)
            {
                _subjectPrefix.CopyTo(partitioned);
                Utf8Formatter.TryFormat(PartitionOf(line, _partitionField, _partitions), partitioned[_subjectPrefix.Length..], out int written);
                _subjectSuffix.CopyTo(partitioned[(_subjectPrefix.Length + written)..]);
                subject = partitioned[..(_subjectPrefix.Length + written + _subjectSuffix.Length)];
            }

            if (!Connection.TryPublish(subject, reply, id, line, out error))
            {
                return false;
            }

            _status[index] = InFlight;
            _inFlight++;
            return true;
        }

        /// <summary>A PubAck (or a no-responders status) for the message whose sequence ends its reply subject.</summary>
        public void OnAck(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload)
        {
            int dot = subject.LastIndexOf((byte)'.');
            if (!Utf8Parser.TryParse(subject[(dot + 1)..], out long sequence, out _))
            {
                return;
            }

            long index = sequence - _base;
            if (index < 0 || index >= _count || _status[index] != InFlight)
            {
                // A late PubAck of a batch already settled (by its duplicate on a retry).
                return;
            }

            _inFlight--;
            if (payload.IndexOf("\"error\""u8) >= 0 || IsNoResponders(headers))
            {
                _status[index] = Failed;
                _failed++;
                Volatile.Write(ref Failures, Failures + 1);
                if (_failure is null || _failed == 1)
                {
                    _failure = Describe(headers, payload);
                }

                return;
            }

            _status[index] = Done;
            _done++;
            Volatile.Write(ref Acknowledged, Acknowledged + 1);
            if (IsDuplicate(payload))
            {
                Volatile.Write(ref Duplicates, Duplicates + 1);
            }
        }

        /// <summary><c>"duplicate": true</c> (the server writes a space after the colon; tolerate either).</summary>
        private static bool IsDuplicate(ReadOnlySpan<byte> payload)
        {
            int at = payload.IndexOf("\"duplicate\""u8);
            return at >= 0 && payload[(at + "\"duplicate\""u8.Length)..].TrimStart(" :"u8).StartsWith("true"u8);
        }

        /// <summary><c>NATS/1.0 503</c>: no stream (no subscriber at all) listens on the subject.</summary>
        private static bool IsNoResponders(ReadOnlySpan<byte> headers) =>
            headers.Length >= 12 && headers[..12].SequenceEqual("NATS/1.0 503"u8);

        [MethodImpl(MethodImplOptions.NoInlining)]
        private string Describe(ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload) =>
            IsNoResponders(headers)
                ? $"no stream captures subject '{Encoding.ASCII.GetString(_subject)}'"
                : Encoding.UTF8.GetString(payload);

        [MethodImpl(MethodImplOptions.NoInlining)]
        private bool Fail(ReadOnlySpan<byte> batch)
        {
            _pending = true;
            _pendingLength = batch.Length;
            _pendingHash = Hash(batch);
            if (!Connection.IsConnected && _nextConnectAttempt == 0)
            {
                _nextConnectAttempt = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
            }

            return false;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void Grow()
        {
            int size = _starts.Length * 2;
            Array.Resize(ref _starts, size);
            Array.Resize(ref _lengths, size);
            Array.Resize(ref _status, size);
        }

        /// <summary>FNV-1a: only to tell the failed batch from a new one (a sink offers the failed one again until it gives up).</summary>
        private static ulong Hash(ReadOnlySpan<byte> bytes)
        {
            ulong hash = 14695981039346656037;
            foreach (byte b in bytes)
            {
                hash = (hash ^ b) * 1099511628211;
            }

            return hash;
        }
    }

    /// <summary>Hands the PubAcks on the inbox subscription to the publisher.</summary>
    private readonly struct AckHandler(Publisher publisher) : INatsMessageHandler
    {
        public void OnMessage(ReadOnlySpan<byte> subject, int sid, ReadOnlySpan<byte> replyTo, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload) =>
            publisher.OnAck(subject, headers, payload);
    }
}
