using System.Runtime.CompilerServices;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Metrics;
using EventDaemon.Events;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Fields;
using EventDaemon.Events.Ingest;

namespace EventDaemon.Daemon.Sources;

/// <summary>
/// Turns one connection's reads into events in the ring. Decoding happens outside the ring's
/// producer turn, so connections decode in parallel; decoded events are staged (slot + where
/// their bytes are) and appended in one turn per read, or sooner when the stage is full.
/// </summary>
/// <remarks>
/// A staged event's bytes stay where the framer delivered them: inside the read buffer (valid
/// until the next read) or, for the one line per read that was cut across reads, in a copy of our
/// own (the framer's carry buffer is reused before the read ends).
/// </remarks>
internal sealed class StreamIngest
{
    /// <summary>Events staged before a turn at the ring is forced: bounds memory per connection.</summary>
    private const int StageCapacity = 512;

    private readonly EventRing _ring;
    private readonly SourceMetrics _metrics;
    private readonly BadInputLog _errors;
    private readonly ushort _sourceId;
    private readonly bool _wait;
    private readonly LineFramer? _lines;
    private readonly BinaryFrameDecoder? _frames;
    private readonly EventSlot[] _staged = new EventSlot[StageCapacity];

    // Where each staged event's bytes are until its turn at the ring: an offset into the current
    // read, or (negative, -1 - offset) into _carried. The slot's PayloadPosition means only the
    // arena position, which the ring writes when the event is appended.
    private readonly int[] _stagedAt = new int[StageCapacity];
    private readonly byte[] _carried;

    // The catalog the staged rows were decoded for, read from the ring once per read: a reload
    // that installs another meanwhile makes the ring re-index those rows (EventRing.TryAppend).
    private FieldCatalog _catalog = FieldCatalog.Empty;
    private byte[] _rows = [];
    private int _stagedCount;
    private int _carriedUsed;
    private long _pendingBytes;

    public StreamIngest(EventRing ring, SourceMetrics metrics, BadInputLog errors, SourceFormat format, int maxEventBytes, bool wait)
    {
        _ring = ring;
        _metrics = metrics;
        _errors = errors;
        _sourceId = metrics.Id;
        _wait = wait;
        if (format == SourceFormat.Binary)
        {
            _frames = new BinaryFrameDecoder(maxEventBytes);
        }
        else
        {
            _lines = new LineFramer(maxEventBytes);
        }

        _carried = new byte[maxEventBytes + 16];
    }

    /// <summary>Events refused because the ring was full (non-waiting sources only), since the last read.</summary>
    public long Refused { get; private set; }

    /// <summary>Decodes and appends one read. Returns the frame error that must close the connection, if any.</summary>
    public FrameError Feed(ReadOnlySpan<byte> read)
    {
        UseCatalog(_ring.Catalog);
        _pendingBytes += read.Length;
        var sink = new Sink(this, read);
        FrameError error = FrameError.None;
        if (_lines is not null)
        {
            _lines.Feed(read, ref sink);
        }
        else
        {
            error = _frames!.Feed(read, ref sink);
        }

        Flush(read);
        if (error != FrameError.None)
        {
            RecordFrameError(error, read);
        }

        return error;
    }

    /// <summary>End of stream: a final line without a newline still counts; a cut frame is an error.</summary>
    public FrameError Complete()
    {
        UseCatalog(_ring.Catalog);
        FrameError error = FrameError.None;
        var sink = new Sink(this, default);
        if (_lines is not null)
        {
            _lines.Complete(ref sink);
        }
        else
        {
            error = _frames!.Complete();
        }

        Flush(default);
        if (error != FrameError.None)
        {
            RecordFrameError(error, default);
        }

        return error;
    }

    /// <summary>Forgets any partial line or frame: the next read starts a new stream (each datagram, a reused connection).</summary>
    public void Reset()
    {
        _lines?.Reset();
        _frames?.Reset();
        _stagedCount = 0;
        _carriedUsed = 0;
        _pendingBytes = 0;
        Refused = 0;
    }

    /// <summary>Decodes the next events for <paramref name="catalog"/>; nothing is staged between reads.</summary>
    private void UseCatalog(FieldCatalog catalog)
    {
        if (!ReferenceEquals(catalog, _catalog))
        {
            // Only after a reload changed what stages read: not on the per-read path.
            _catalog = catalog;
            if (_rows.Length < StageCapacity * catalog.RowBytes)
            {
                _rows = new byte[StageCapacity * catalog.RowBytes];
            }
        }
    }

    /// <summary>The row of the next staged event.</summary>
    private Span<byte> NextRow() => _rows.AsSpan(_stagedCount * _catalog.RowBytes, _catalog.RowBytes);

    private void RecordFrameError(FrameError error, ReadOnlySpan<byte> read)
    {
        _metrics.AddFrameError(error);
        _errors.RecordFrameError(MonotonicClock.UnixNanos(), _sourceId, error, read[..Math.Min(read.Length, BadInputLog.ExcerptBytes)]);
    }

    private void Stage(ReadOnlySpan<byte> payload, ref EventSlot slot, ReadOnlySpan<byte> read)
    {
        // The caller made room (EnsureRoom) before decoding into NextRow(): no flush may come
        // between, or the row would no longer sit at this event's index.
        // Where the bytes are: an offset into this read, or (negative) into our carried copy.
        if (read.Overlaps(payload, out int offset))
        {
            _stagedAt[_stagedCount] = offset;
        }
        else
        {
            payload.CopyTo(_carried.AsSpan(_carriedUsed));
            _stagedAt[_stagedCount] = -1 - _carriedUsed;
            _carriedUsed += payload.Length;
        }

        slot.PayloadLength = payload.Length;
        slot.SourceId = _sourceId;
        _staged[_stagedCount++] = slot;
    }

    /// <summary>Makes room for one more staged event before it is decoded into <see cref="NextRow"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EnsureRoom(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> read)
    {
        if (_stagedCount == StageCapacity
            || (!read.Overlaps(payload) && _carriedUsed + payload.Length > _carried.Length))
        {
            Flush(read);
        }
    }

    /// <summary>One turn at the ring: appends every staged event, then publishes them together.</summary>
    private void Flush(ReadOnlySpan<byte> read)
    {
        int count = _stagedCount;
        long refused = 0;
        if (count > 0)
        {
            long ingest = MonotonicClock.NowNanos();
            // Stream sources may run an idle stage themselves (idle_handoff); datagram sources never
            // wait on a handler, as the kernel would drop what arrives meanwhile, uncounted.
            IngestBatch batch = _ring.BeginBatch(runIdleStages: _wait);
            try
            {
                for (int i = 0; i < count; i++)
                {
                    ref EventSlot slot = ref _staged[i];
                    int position = _stagedAt[i];
                    ReadOnlySpan<byte> payload = position >= 0
                        ? read.Slice(position, slot.PayloadLength)
                        : _carried.AsSpan(-1 - position, slot.PayloadLength);
                    slot.IngestNanos = ingest;
                    ReadOnlySpan<byte> row = _rows.AsSpan(i * _catalog.RowBytes, _catalog.RowBytes);
                    if (!batch.TryAppend(ref slot, payload, row, _catalog, _wait))
                    {
                        refused++;
                    }
                }
            }
            finally
            {
                batch.Dispose();
            }
        }

        _metrics.AddReceived(count - refused, _pendingBytes);
        if (refused > 0)
        {
            _metrics.AddDropped(DropReason.RingFull, refused);
            Refused += refused;
        }

        _pendingBytes = 0;
        _stagedCount = 0;
        _carriedUsed = 0;
    }

    private void Invalid(InvalidReason reason, ReadOnlySpan<byte> input)
    {
        _metrics.AddInvalid(reason);
        _errors.Record(MonotonicClock.UnixNanos(), _sourceId, reason, input);
    }

    /// <summary>The framer's callback target: decodes (lines) or copies (frames) and stages.</summary>
    private ref struct Sink : ILineSink, IFrameSink
    {
        private readonly StreamIngest _owner;
        private readonly ReadOnlySpan<byte> _read;

        /// <summary>Wall-clock time of the read: the event time of events that carry none. Read from
        /// the clock at the first such event, so a read whose events all carry a time costs no clock read.</summary>
        private long _readUnixNanos;

        public Sink(StreamIngest owner, ReadOnlySpan<byte> read)
        {
            _owner = owner;
            _read = read;
        }

        private long ReadUnixNanos => _readUnixNanos != 0 ? _readUnixNanos : _readUnixNanos = MonotonicClock.UnixNanos();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void OnLine(ReadOnlySpan<byte> line)
        {
            var slot = default(EventSlot);
            _owner.EnsureRoom(line, _read);
            if (!JsonEventParser.TryParse(line, ref slot, _owner._catalog, _owner.NextRow(), out InvalidReason reason))
            {
                _owner.Invalid(reason, line);
                return;
            }

            if ((slot.Flags & EventFlags.HasTimestamp) == 0)
            {
                slot.Timestamp = ReadUnixNanos;
            }

            _owner.Stage(line, ref slot, _read);
        }

        public void OnOversized() => _owner.Invalid(InvalidReason.Oversized, default);

        public void OnFrame(ReadOnlySpan<byte> frame, in EventSlot decoded)
        {
            EventSlot slot = decoded;
            if ((slot.Flags & EventFlags.HasTimestamp) == 0)
            {
                slot.Timestamp = ReadUnixNanos;
            }

            _owner.EnsureRoom(frame, _read);
            if (_owner._catalog.RowBytes != 0)
            {
                // Frames have no named fields; their keys (type, key) are hashed here, on the reader.
                FieldIndexer.Index(in slot, frame, _owner._catalog, _owner.NextRow());
            }

            _owner.Stage(frame, ref slot, _read);
        }

        public void OnInvalid(ReadOnlySpan<byte> frame, InvalidReason reason) => _owner.Invalid(reason, frame);
    }
}
