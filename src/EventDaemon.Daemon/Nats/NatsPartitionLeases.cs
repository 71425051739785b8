using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using EventDaemon.Daemon.Hosting;

namespace EventDaemon.Daemon.Nats;

/// <summary>
/// Claims, renews and gives up partitions through leases in a JetStream key-value bucket, so that
/// several instances of one nats source split the partitions between them and a dead instance's
/// partitions move to the survivors (SPEC §8). Runs on a thread and a connection of its own: a
/// renewal's round trips never wait in the source's pull-and-ack loop.
/// </summary>
/// <remarks>
/// <para>
/// The bucket is the stream <c>KV_&lt;bucket&gt;</c> over <c>$KV.&lt;bucket&gt;.&gt;</c>, one message
/// kept per key, in memory, replicated on three servers when the cluster has them, with
/// <c>max_age</c> = the lease TTL: a 2.9 server has no per-key TTL, so a lease is "the last write of
/// its key, younger than the TTL", and a holder that stops renewing loses it when the server ages
/// the message out. Keys: <c>p.&lt;n&gt;</c> holds the owner's instance id (empty: released), and
/// <c>m.&lt;instance&gt;</c> is each live instance's heartbeat, counted to know the fair share.
/// </para>
/// <para>
/// Every write of a lease key carries <c>Nats-Expected-Last-Subject-Sequence</c>: the sequence of the
/// write it replaces (0 for a key that does not exist). Two instances racing for one partition both
/// read the same sequence; the stream accepts one write and refuses the other (err_code 10071), so a
/// partition has at most one holder at a time in the bucket.
/// </para>
/// <para>
/// Each round (every TTL/3): heartbeat, count the members, renew every held lease, give up those
/// past the fair share <c>ceil(partitions / members)</c> (after the source stopped pulling them),
/// and claim free ones (absent or released) up to the fair share. A lease not renewed for a whole
/// TTL (the bucket unreachable) is dropped here too: by then the server may have given it to
/// another instance, and two consumers of one partition would split its aggregates.
/// </para>
/// <para>
/// Bound: a dead instance's keys age out at most one TTL after its last renewal; a survivor's next
/// round, at most TTL/3 later, claims them. A partition moves within 4/3 TTL plus a round's requests.
/// </para>
/// </remarks>
public sealed class NatsPartitionLeases : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(2);

    private const int WrongLastSequence = 10071;
    private const int NoMessageFound = 10037;
    private const int StreamNotFound = 10059;

    private readonly NatsConnection _connection;
    private readonly string _bucket;
    private readonly string _stream;
    private readonly int _count;
    private readonly long _ttlTicks;
    private readonly long _ttlNanos;
    private readonly string _instance;
    private readonly string _owner;
    private readonly byte[] _instanceBytes;
    private readonly string _replyPrefix;
    private long _request;

    // Owner: the lease thread. _sequence[p] > 0 while p is held: the stream sequence of its last write.
    private readonly ulong[] _sequence;
    private readonly long[] _renewedAt;
    private int _first;
    private bool _bucketReady;

    private volatile int[] _owned = [];
    private volatile int[]? _applied;
    private string? _answer;
    private byte[] _expectedReply = [];
    private string? _problem;
    private int _members;
    private long _renewals;
    private long _losses;
    private long _claims;
    private long _releases;

    private readonly ManualResetEventSlim _wake = new(false);
    private Thread? _thread;
    private volatile bool _stopping;

    /// <param name="url">The servers, as the source's <c>url</c>.</param>
    /// <param name="bucket">The key-value bucket's name.</param>
    /// <param name="partitions">How many partitions there are (<c>partition_count</c>).</param>
    /// <param name="ttl">How long a lease outlives its last renewal.</param>
    /// <param name="owner">Who holds the leases, for messages: <c>source 'bus'</c>.</param>
    public NatsPartitionLeases(string url, string bucket, int partitions, TimeSpan ttl, string instance, string owner)
    {
        _bucket = bucket;
        _stream = $"KV_{bucket}";
        _count = partitions;
        _ttlTicks = (long)(ttl.TotalSeconds * Stopwatch.Frequency);
        _ttlNanos = (long)(ttl.TotalMilliseconds * 1_000_000);
        _instance = instance;
        _owner = owner;
        _instanceBytes = Encoding.ASCII.GetBytes(instance);
        _replyPrefix = $"_INBOX.{instance}.lease.";
        _sequence = new ulong[partitions];
        _renewedAt = new long[partitions];

        // Instances start their claims at different partitions, so that two starting together rarely race for the same keys.
        _first = (int)((uint)instance.GetHashCode(StringComparison.Ordinal) % (uint)partitions);
        _connection = new NatsConnection(url, $"eventd {owner} leases {instance}", RequestTimeout);
        _connection.Subscribe($"_INBOX.{instance}.lease.*", 1);
        Description = $"lease bucket '{bucket}' on {_connection.Description}";
    }

    public string Description { get; }

    /// <summary>
    /// The partitions held now, ascending; a new array whenever the set changes (compare references).
    /// </summary>
    /// <remarks>Written by the lease thread (volatile), read by the source's thread.</remarks>
    public int[] Owned => _owned;

    /// <summary>Instances seen alive in the last round (their heartbeat keys), this one included.</summary>
    public int Members => Volatile.Read(ref _members);

    /// <summary>Renewals the bucket accepted.</summary>
    public long Renewals => Volatile.Read(ref _renewals);

    /// <summary>Leases lost: another instance wrote the key first, or no renewal got through for a whole TTL.</summary>
    public long Losses => Volatile.Read(ref _losses);

    /// <summary>Partitions claimed (free or released keys written with their expected sequence).</summary>
    public long Claims => Volatile.Read(ref _claims);

    /// <summary>Partitions given up to bring this instance down to its fair share, or at stop.</summary>
    public long Releases => Volatile.Read(ref _releases);

    /// <summary>Why the leases cannot be kept now (bucket unreachable); <c>null</c> while they can.</summary>
    public string? Problem => Volatile.Read(ref _problem);

    /// <summary>
    /// The consumer of the leases (the source's thread) says it consumes exactly <paramref name="owned"/>
    /// now: a lease given up is written free only after its partition is no longer pulled.
    /// </summary>
    public void Applied(int[] owned) => _applied = owned;

    public void Start()
    {
        _thread = new Thread(Run) { Name = "nats-leases", IsBackground = true };
        _thread.Start();
    }

    /// <summary>Stops renewing and writes every held lease free, so that the survivors claim them at their next round rather than after a TTL.</summary>
    public void Stop()
    {
        if (_thread is null || _stopping)
        {
            return;
        }

        _stopping = true;
        _wake.Set();
        _thread.Join();
    }

    public void Dispose()
    {
        Stop();
        _connection.Dispose();
        _wake.Dispose();
    }

    private void Run()
    {
        long roundTicks = _ttlTicks / 3;
        while (!_stopping)
        {
            long started = Stopwatch.GetTimestamp();
            try
            {
                Round();
            }
            catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
            {
                Volatile.Write(ref _problem, $"{_owner}: {Description}: {e.Message}");
            }

            long wait = started + roundTicks - Stopwatch.GetTimestamp();
            if (wait > 0)
            {
                _wake.Wait(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency));
            }
        }

        if (_connection.IsConnected)
        {
            // The source's thread has stopped before this one is asked to: nothing pulls these partitions any more.
            _owned = [];
            for (int p = 0; p < _count; p++)
            {
                if (_sequence[p] > 0 && Write(p, release: true, out _) is not null)
                {
                    Volatile.Write(ref _releases, _releases + 1);
                }
            }
        }

        _connection.Disconnect();
    }

    /// <summary>One round: heartbeat, count, renew, fence, give up the excess, claim up to the fair share.</summary>
    private void Round()
    {
        if (!_connection.IsConnected && !_connection.TryConnect(out string? unreachable))
        {
            Volatile.Write(ref _problem, $"{_owner}: {Description}: {unreachable}");
            Fence(Stopwatch.GetTimestamp());
            return;
        }

        if (!_bucketReady && !EnsureBucket())
        {
            Fence(Stopwatch.GetTimestamp());
            return;
        }

        if (Heartbeat() is { } failure)
        {
            Volatile.Write(ref _problem, $"{_owner}: {Description}: {failure}");
            Fence(Stopwatch.GetTimestamp());
            return;
        }

        int members = Math.Max(1, CountMembers());
        Volatile.Write(ref _members, members);
        int fair = (_count + members - 1) / members;

        for (int p = 0; p < _count; p++)
        {
            if (_sequence[p] == 0)
            {
                continue;
            }

            long sent = Stopwatch.GetTimestamp();
            if (Write(p, release: false, out int code) is { } sequence)
            {
                _sequence[p] = sequence;
                _renewedAt[p] = sent;
                Volatile.Write(ref _renewals, _renewals + 1);
            }
            else if (code == WrongLastSequence)
            {
                Lose(p, "another instance holds it now");
            }
        }

        Fence(Stopwatch.GetTimestamp());
        int held = _sequence.Count(s => s > 0);
        if (held > fair)
        {
            GiveUp(held - fair);
        }
        else if (held < fair)
        {
            Claim(fair - held);
        }

        Publish(HeldNow());
        Volatile.Write(ref _problem, null);
    }

    /// <summary>Drops every lease not renewed for a whole TTL: the server may have aged it out and given it to another.</summary>
    private void Fence(long now)
    {
        for (int p = 0; p < _count; p++)
        {
            if (_sequence[p] > 0 && now - _renewedAt[p] >= _ttlTicks)
            {
                Lose(p, $"not renewed for {(now - _renewedAt[p]) / Stopwatch.Frequency} s");
            }
        }

        if (_owned.Length != _sequence.Count(s => s > 0))
        {
            Publish(HeldNow());
        }
    }

    private void Lose(int partition, string why)
    {
        _sequence[partition] = 0;
        Volatile.Write(ref _losses, _losses + 1);
        Log.Warning($"{_owner}: lost the lease of partition {partition} ({why}): it is no longer consumed here");
    }

    /// <summary>Gives up the highest partitions held: first stops consuming them, then writes their keys free.</summary>
    private void GiveUp(int excess)
    {
        var giving = new List<int>();
        for (int p = _count - 1; p >= 0 && giving.Count < excess; p--)
        {
            if (_sequence[p] > 0)
            {
                giving.Add(p);
            }
        }

        int[] keep = HeldNow().Except(giving).ToArray();
        Publish(keep);
        WaitApplied(keep);
        foreach (int p in giving)
        {
            Write(p, release: true, out _);
            _sequence[p] = 0;
            Volatile.Write(ref _releases, _releases + 1);
        }

        Log.Info($"{_owner}: gave up partitions {string.Join(',', giving.Order())} to bring this instance to its share of {_count} over {Members} instances");
    }

    /// <summary>Claims up to <paramref name="wanted"/> free partitions: keys absent (aged out) or released.</summary>
    private void Claim(int wanted)
    {
        var claimed = new List<int>();
        for (int i = 0; i < _count && claimed.Count < wanted; i++)
        {
            int p = (_first + i) % _count;
            if (_sequence[p] > 0)
            {
                continue;
            }

            ulong expected;
            using (JsonDocument? last = Api($"$JS.API.STREAM.MSG.GET.{_stream}", $"{{\"last_by_subj\":\"{Key(p)}\"}}", out int code))
            {
                if (last is null && code == NoMessageFound)
                {
                    expected = 0;
                }
                else if (last is not null && last.RootElement.TryGetProperty("message", out JsonElement message)
                    && (!message.TryGetProperty("data", out JsonElement data) || data.GetString() is null or ""))
                {
                    expected = message.GetProperty("seq").GetUInt64();
                }
                else
                {
                    // Held by a live instance, or the bucket did not answer.
                    continue;
                }
            }

            _sequence[p] = expected;
            long sent = Stopwatch.GetTimestamp();
            if (Write(p, release: false, out _) is { } sequence)
            {
                _sequence[p] = sequence;
                _renewedAt[p] = sent;
                claimed.Add(p);
                Volatile.Write(ref _claims, _claims + 1);
            }
            else
            {
                // Another instance wrote the key first.
                _sequence[p] = 0;
            }
        }

        if (claimed.Count > 0)
        {
            Log.Info($"{_owner}: claimed partitions {string.Join(',', claimed.Order())} ({_sequence.Count(s => s > 0)} of {_count} held, {Members} instances)");
        }
    }

    /// <summary>Writes the lease of <paramref name="partition"/> (this instance's id, or empty to release it) over its last write; the new sequence, or <c>null</c> with the refusal's code.</summary>
    private ulong? Write(int partition, bool release, out int code)
    {
        Span<byte> expected = stackalloc byte[20];
        ((ulong)_sequence[partition]).TryFormat(expected, out int digits, provider: CultureInfo.InvariantCulture);
        using JsonDocument? ack = Api(Key(partition), release ? "" : _instance, out code, "Nats-Expected-Last-Subject-Sequence"u8, expected[..digits]);
        return ack is not null && ack.RootElement.TryGetProperty("seq", out JsonElement seq) ? seq.GetUInt64() : null;
    }

    private string? Heartbeat()
    {
        using JsonDocument? ack = Api($"$KV.{_bucket}.m.{_instance}", _instance, out int code);
        return ack is null ? $"heartbeat refused ({code})" : null;
    }

    /// <summary>The heartbeat keys younger than the TTL: the instances alive now.</summary>
    private int CountMembers()
    {
        using JsonDocument? info = Api($"$JS.API.STREAM.INFO.{_stream}", $"{{\"subjects_filter\":\"$KV.{_bucket}.m.*\"}}", out _);
        return info is not null && info.RootElement.TryGetProperty("state", out JsonElement state)
            && state.TryGetProperty("subjects", out JsonElement subjects) && subjects.ValueKind == JsonValueKind.Object
            ? subjects.EnumerateObject().Count()
            : 1;
    }

    /// <summary>Finds the bucket's stream, or creates it: replicated on three servers, or on one when the server is not clustered.</summary>
    private bool EnsureBucket()
    {
        using (JsonDocument? info = Api($"$JS.API.STREAM.INFO.{_stream}", "", out int code))
        {
            if (info is not null)
            {
                long maxAge = info.RootElement.GetProperty("config").GetProperty("max_age").GetInt64();
                if (maxAge != _ttlNanos)
                {
                    Volatile.Write(ref _problem, $"{_owner}: {Description}: its max_age is {maxAge / 1_000_000} ms, lease_ttl is {_ttlNanos / 1_000_000} ms: "
                        + "every instance of one bucket needs the same lease_ttl (delete the bucket's stream to change it)");
                    return false;
                }

                _bucketReady = true;
                return true;
            }

            if (code != StreamNotFound)
            {
                Volatile.Write(ref _problem, $"{_owner}: {Description}: no answer from JetStream ({code})");
                return false;
            }
        }

        foreach (int replicas in new[] { 3, 1 })
        {
            // duplicate_window may not exceed max_age; deletes and purges are how a bucket is cleared, not how leases end.
            string config = $"{{\"name\":\"{_stream}\",\"subjects\":[\"$KV.{_bucket}.>\"],\"retention\":\"limits\",\"max_msgs_per_subject\":1,"
                + $"\"max_age\":{_ttlNanos},\"duplicate_window\":{_ttlNanos},\"storage\":\"memory\",\"num_replicas\":{replicas},"
                + "\"discard\":\"old\",\"allow_rollup_hdrs\":true,\"deny_delete\":true}";
            using JsonDocument? created = Api($"$JS.API.STREAM.CREATE.{_stream}", config, out int code);
            if (created is not null)
            {
                Log.Info($"{_owner}: created {Description} (R{replicas}, leases of {_ttlNanos / 1_000_000} ms)");
                _bucketReady = true;
                return true;
            }
        }

        // Another instance may have created it in between.
        using JsonDocument? again = Api($"$JS.API.STREAM.INFO.{_stream}", "", out _);
        _bucketReady = again is not null;
        if (!_bucketReady)
        {
            Volatile.Write(ref _problem, $"{_owner}: {Description}: cannot create the bucket's stream");
        }

        return _bucketReady;
    }

    private string Key(int partition) => $"$KV.{_bucket}.p.{partition.ToString(CultureInfo.InvariantCulture)}";

    private int[] HeldNow()
    {
        var held = new List<int>();
        for (int p = 0; p < _count; p++)
        {
            if (_sequence[p] > 0)
            {
                held.Add(p);
            }
        }

        return [.. held];
    }

    private void Publish(int[] owned)
    {
        if (!owned.AsSpan().SequenceEqual(_owned))
        {
            _owned = owned;
        }
    }

    /// <summary>Waits (1 s at most: the source polls every 50 ms) until the source consumes no partition outside <paramref name="owned"/>.</summary>
    private void WaitApplied(int[] owned)
    {
        long deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
        while (!ReferenceEquals(_applied, owned) && !ReferenceEquals(_applied, _owned) && Stopwatch.GetTimestamp() < deadline)
        {
            Thread.Sleep(5);
        }
    }

    /// <summary>
    /// One request and its answer (a PubAck or an API response), parsed; <c>null</c> with the error's
    /// <c>err_code</c> (or -1: no answer, connection lost) when it failed. Cold path: allocates.
    /// </summary>
    private JsonDocument? Api(string subject, string body, out int code, ReadOnlySpan<byte> headerName = default, ReadOnlySpan<byte> headerValue = default)
    {
        code = -1;
        _answer = null;

        // A reply subject per request: a late answer to one that timed out is not taken for the next one's.
        _request++;
        _expectedReply = Encoding.ASCII.GetBytes(_replyPrefix + _request.ToString(CultureInfo.InvariantCulture));
        byte[] payload = Encoding.UTF8.GetBytes(body);
        bool sent = headerValue.IsEmpty
            ? _connection.TryPublishPlain(Encoding.ASCII.GetBytes(subject), _expectedReply, payload, out string? error)
            : _connection.TryPublish(Encoding.ASCII.GetBytes(subject), _expectedReply, headerName, headerValue, payload, out error);
        if (!sent || !_connection.Flush(out error))
        {
            Volatile.Write(ref _problem, $"{_owner}: {Description}: {error}");
            return null;
        }

        var handler = new Handler(this);
        long deadline = Stopwatch.GetTimestamp() + (long)(RequestTimeout.TotalSeconds * Stopwatch.Frequency);
        while (_answer is null)
        {
            if (Stopwatch.GetTimestamp() > deadline || _connection.Poll(ref handler, 50_000, out _) < 0)
            {
                return null;
            }
        }

        JsonDocument answer = JsonDocument.Parse(_answer);
        if (answer.RootElement.TryGetProperty("error", out JsonElement failure))
        {
            code = failure.TryGetProperty("err_code", out JsonElement c) && c.TryGetInt32(out int v) ? v : -1;
            answer.Dispose();
            return null;
        }

        code = 0;
        return answer;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void OnReply(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> payload)
    {
        if (!subject.SequenceEqual(_expectedReply))
        {
            return;
        }

        // A status without a body (503: no responders, the stream has no leader now) is a failed request.
        _answer = payload.IsEmpty ? "{\"error\":{\"err_code\":-1}}" : Encoding.UTF8.GetString(payload);
    }

    private readonly struct Handler(NatsPartitionLeases leases) : INatsMessageHandler
    {
        public void OnMessage(ReadOnlySpan<byte> subject, int sid, ReadOnlySpan<byte> replyTo, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload) =>
            leases.OnReply(subject, payload);
    }
}
