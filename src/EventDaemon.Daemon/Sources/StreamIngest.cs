using System.Diagnostics;
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
/// their bytes are) in the <see cref="IngestBuffers"/> the read landed in, and appended in one
/// turn per read, or sooner when the stage is full.
/// </summary>
/// <remarks>
/// <para>A staged event's bytes stay where the framer delivered them: inside the read buffer or,
/// for the one event per read that was cut across reads, in the buffers' carried copy.</para>
/// <para>When the ring has no room, a stream ingest never waits (that would stall every other
/// connection of its I/O thread): it pauses. It keeps the buffers its read is in, the staged events
/// the ring did not take and the bytes of the read it had not framed yet, and <see cref="Resume"/>
/// appends them later, in order. Meanwhile its connection is not read, so the kernel's receive
/// window fills and pushes back on the sender. A datagram ingest (UDP) instead drops what the ring
/// refuses and counts it: a datagram sender cannot be pushed back on.</para>
/// </remarks>
internal sealed class StreamIngest
{
    private readonly EventRing _ring;
    private readonly SourceMetrics _metrics;
    private readonly BadInputLog _errors;
    private readonly ushort _sourceId;
    private readonly bool _pauseWhenFull;
    private readonly LineFramer? _lines;
    private readonly BinaryFrameDecoder? _frames;

    // The member names this connection's lines had, by position: its senders write every line
    // alike, so the decoder settles most names by one compare. Per ingest because an ingest is fed
    // by one thread at a time. Not readonly: a mutable struct the decoder updates in place.
    private MemberOrder _memberOrder;

    // The buffers being framed: lent for one read, or kept while paused.
    private IngestBuffers? _buffers;

    // The span of _buffers.Read that staged offsets are relative to.
    private int _spanStart;
    private int _spanLength;

    // Where, in the span being framed, framing stopped because the ring was full; -1 while not stopped.
    private int _stopAt = -1;

    // While paused: the first staged event the ring has not taken, and the bytes of the read not framed yet.
    private int _resumeAt;
    private int _tailStart;
    private int _tailEnd;
    private long _pendingBytes;

    /// <param name="pauseWhenFull">true for stream connections (pause, see remarks); false for
    /// datagrams (drop and count as <c>ring_full</c>).</param>
    public StreamIngest(EventRing ring, SourceMetrics metrics, BadInputLog errors, SourceFormat format, int maxEventBytes, bool pauseWhenFull)
    {
        _ring = ring;
        _metrics = metrics;
        _errors = errors;
        _sourceId = metrics.Id;
        _pauseWhenFull = pauseWhenFull;
        if (format == SourceFormat.Binary)
        {
            _frames = new BinaryFrameDecoder(maxEventBytes);
        }
        else
        {
            _lines = new LineFramer(maxEventBytes);
        }
    }

    /// <summary>The ring was full: this ingest holds events or bytes not yet appended (see remarks).</summary>
    public bool IsPaused { get; private set; }

    /// <summary>Events refused because the ring was full (datagram ingests only), since the last <see cref="Reset"/>.</summary>
    public long Refused { get; private set; }

    /// <summary>Ring sequence of the last event this ingest appended since the last <see cref="Reset"/>; -1 = none.
    /// Once the durable horizon reaches it, everything this connection sent before is kept.</summary>
    public long LastSequence { get; private set; } = -1;

    /// <summary>Events appended into the ring since the last <see cref="Reset"/> (an ack's <c>accepted_total</c>).</summary>
    public long Accepted { get; private set; }

    /// <summary>Frames or lines skipped for their content since the last <see cref="Reset"/> (an ack's <c>rejected_total</c>).</summary>
    /// <remarks>Counted when decoded, ahead of the events staged before them: consistent with
    /// <see cref="Accepted"/> only while the ingest is not paused.</remarks>
    public long Rejected { get; private set; }

    /// <summary>A frame with <c>ack_requested</c> came: the connection gets acknowledgements (PROTOCOL.md §3).</summary>
    public bool AckRequested { get; private set; }

    /// <summary>Decodes and appends the first <paramref name="length"/> bytes of <paramref name="buffers"/>.
    /// Returns the frame error that must close the connection, if any (after what came before it is
    /// appended). When this leaves the ingest paused, it keeps <paramref name="buffers"/>.</summary>
    public FrameError Feed(IngestBuffers buffers, int length)
    {
        Debug.Assert(!IsPaused, "a paused ingest is resumed before it is fed");
        _buffers = buffers;
        _pendingBytes += length;
        FrameError error = FrameSpan(0, length);
        if (!IsPaused)
        {
            _buffers = null;
        }

        return error;
    }

    /// <summary>End of stream: a final line without a newline still counts; a cut frame is an error.
    /// May pause (the final line waits for room) like <see cref="Feed"/>.</summary>
    public FrameError Complete(IngestBuffers buffers)
    {
        Debug.Assert(!IsPaused, "a paused ingest is resumed before it is completed");
        _buffers = buffers;
        buffers.UseCatalog(_ring.Catalog);
        _spanStart = 0;
        _spanLength = 0;
        _stopAt = -1;
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

        if (!Flush(default))
        {
            Pause(0, 0);
        }
        else
        {
            _buffers = null;
        }

        if (error != FrameError.None)
        {
            RecordFrameError(error, default);
        }

        return error;
    }

    /// <summary>
    /// Paused only: appends what the ring refused before, then frames the rest of the read.
    /// Returns the frame error found in that rest, if any. When the ingest is no longer paused,
    /// <paramref name="released"/> is the buffers it kept, for their owner's pool.
    /// </summary>
    public FrameError Resume(out IngestBuffers? released)
    {
        Debug.Assert(IsPaused && _buffers is not null, "only a paused ingest resumes");
        released = null;
        if (!Flush(_buffers.Read.AsSpan(_spanStart, _spanLength)))
        {
            return FrameError.None;
        }

        IsPaused = false;
        FrameError error = FrameError.None;
        if (_tailStart < _tailEnd)
        {
            error = FrameSpan(_tailStart, _tailEnd - _tailStart);
            if (IsPaused)
            {
                return error;
            }
        }

        released = _buffers;
        _buffers = null;
        return error;
    }

    /// <summary>Hands back the buffers of a paused ingest whose connection is abandoned: what they
    /// held is lost, which only a stop that cannot wait any longer does.</summary>
    public IngestBuffers? Abandon()
    {
        IngestBuffers? held = _buffers;
        _buffers = null;
        IsPaused = false;
        return held;
    }

    /// <summary>Forgets any partial line or frame: the next read starts a new stream (each datagram, a reused connection).</summary>
    public void Reset()
    {
        Debug.Assert(!IsPaused, "a paused ingest is resumed or abandoned before it is reset");
        _lines?.Reset();
        _frames?.Reset();
        _buffers = null;
        _resumeAt = 0;
        _stopAt = -1;
        _pendingBytes = 0;
        Refused = 0;
        LastSequence = -1;
        Accepted = 0;
        Rejected = 0;
        AckRequested = false;
    }

    private FrameError FrameSpan(int start, int length)
    {
        IngestBuffers buffers = _buffers!;
        buffers.UseCatalog(_ring.Catalog);
        _spanStart = start;
        _spanLength = length;
        _stopAt = -1;
        ReadOnlySpan<byte> read = buffers.Read.AsSpan(start, length);
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

        if (_stopAt >= 0)
        {
            // The ring filled mid-read. The framer went on to the end of the read with the sink
            // ignoring it: forget its state, and frame the rest again from the event where it
            // stopped (whole, inside this read) once the ring has room. A frame error in that rest
            // is found again then; nothing after the stop was counted.
            _lines?.Reset();
            _frames?.Reset();
            Pause(start + _stopAt, start + length);
            return FrameError.None;
        }

        if (!Flush(read))
        {
            Pause(start + length, start + length);
        }

        if (error != FrameError.None)
        {
            RecordFrameError(error, read);
        }

        return error;
    }

    private void Pause(int tailStart, int tailEnd)
    {
        IsPaused = true;
        _tailStart = tailStart;
        _tailEnd = tailEnd;
    }

    private void RecordFrameError(FrameError error, ReadOnlySpan<byte> read)
    {
        _metrics.AddFrameError(error);
        _errors.RecordFrameError(MonotonicClock.UnixNanos(), _sourceId, error, read[..Math.Min(read.Length, BadInputLog.ExcerptBytes)]);
    }

    private void Stage(ReadOnlySpan<byte> payload, ref EventSlot slot, ReadOnlySpan<byte> read)
    {
        // The caller made room (EnsureRoom) before decoding into the next row: no flush may come
        // between, or the row would no longer sit at this event's index.
        IngestBuffers buffers = _buffers!;
        int index = buffers.StagedCount;
        if (read.Overlaps(payload, out int offset))
        {
            buffers.StagedAt[index] = offset;
        }
        else
        {
            payload.CopyTo(buffers.Carried.AsSpan(buffers.CarriedUsed));
            buffers.StagedAt[index] = -1 - buffers.CarriedUsed;
            buffers.CarriedUsed += payload.Length;
        }

        slot.PayloadLength = payload.Length;
        slot.SourceId = _sourceId;
        buffers.Staged[index] = slot;
        buffers.StagedCount = index + 1;
    }

    /// <summary>Makes room for one more staged event before it is decoded into the next row.
    /// False when the ring is full and this ingest pauses: framing stops at this event.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool EnsureRoom(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> read)
    {
        IngestBuffers buffers = _buffers!;
        if (buffers.StagedCount == IngestBuffers.StageCapacity
            || (!read.Overlaps(payload) && buffers.CarriedUsed + payload.Length > buffers.Carried.Length))
        {
            return FlushMidRead(payload, read);
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool FlushMidRead(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> read)
    {
        if (Flush(read))
        {
            return true;
        }

        // Only the first event of a read can lie outside it (the one cut across reads), and the
        // stage is empty then, so a flush that stops framing always stops at an event in the read.
        bool inRead = read.Overlaps(payload, out int offset);
        Debug.Assert(inRead, "framing stopped at an event outside the read");
        _stopAt = offset;
        return false;
    }

    /// <summary>One turn at the ring: appends the staged events it has room for, then publishes them
    /// together. False when a stream ingest must pause with some of them still staged.</summary>
    private bool Flush(ReadOnlySpan<byte> read)
    {
        IngestBuffers buffers = _buffers!;
        int count = buffers.StagedCount;
        long appended = 0;
        long refused = 0;
        bool complete = true;
        if (_resumeAt < count)
        {
            long ingest = MonotonicClock.NowNanos();
            FieldCatalog catalog = buffers.Catalog;
            int rowBytes = catalog.RowBytes;

            // Stream sources may run an idle stage themselves (idle_handoff); datagram sources never
            // wait on a handler, as the kernel would drop what arrives meanwhile, uncounted.
            IngestBatch batch = _ring.BeginBatch(runIdleStages: _pauseWhenFull);
            try
            {
                for (int i = _resumeAt; i < count; i++)
                {
                    ref EventSlot slot = ref buffers.Staged[i];
                    int position = buffers.StagedAt[i];
                    ReadOnlySpan<byte> payload = position >= 0
                        ? read.Slice(position, slot.PayloadLength)
                        : buffers.Carried.AsSpan(-1 - position, slot.PayloadLength);
                    slot.IngestNanos = ingest;
                    ReadOnlySpan<byte> row = buffers.Rows.AsSpan(i * rowBytes, rowBytes);
                    if (batch.TryAppend(ref slot, payload, row, catalog, wait: false))
                    {
                        appended++;
                    }
                    else if (_pauseWhenFull)
                    {
                        // Stop at the first refusal: a smaller event behind it might fit, and
                        // appending it first would reorder the connection's events.
                        _resumeAt = i;
                        complete = false;
                        break;
                    }
                    else
                    {
                        refused++;
                    }
                }

                if (batch.Count > 0)
                {
                    // Inside the turn: nothing is published mid-batch (no waiting append), so the
                    // cursor is still the one before this batch and no other producer moves it.
                    LastSequence = _ring.Sequencer.Cursor.Value + batch.Count;
                }
            }
            finally
            {
                batch.Dispose();
            }
        }

        Accepted += appended;
        _metrics.AddReceived(appended, _pendingBytes);
        _pendingBytes = 0;
        if (refused > 0)
        {
            _metrics.AddDropped(DropReason.RingFull, refused);
            Refused += refused;
        }

        if (complete)
        {
            buffers.Clear();
            _resumeAt = 0;
        }

        return complete;
    }

    private void Invalid(InvalidReason reason, ReadOnlySpan<byte> input)
    {
        Rejected++;
        _metrics.AddInvalid(reason);
        _errors.Record(MonotonicClock.UnixNanos(), _sourceId, reason, input);
    }

    /// <summary>The framer's callback target: decodes (lines) or copies (frames) and stages. Once
    /// framing has stopped for a full ring, ignores the rest of the read (framed again on resume).</summary>
    private ref struct Sink : ILineSink, IFrameSink
    {
        /// <summary>The frame's <c>flags</c> byte (PROTOCOL.md §2): a frame handed to the sink has its whole header.</summary>
        private const int FlagsOffset = 5;

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

        private readonly bool Stopped => _owner._stopAt >= 0;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void OnLine(ReadOnlySpan<byte> line)
        {
            if (Stopped || !_owner.EnsureRoom(line, _read))
            {
                return;
            }

            IngestBuffers buffers = _owner._buffers!;
            var slot = default(EventSlot);
            if (!JsonEventParser.TryParse(line, ref slot, buffers.Catalog, buffers.Row(buffers.StagedCount), ref _owner._memberOrder, out InvalidReason reason))
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

        public void OnOversized()
        {
            if (!Stopped)
            {
                _owner.Invalid(InvalidReason.Oversized, default);
            }
        }

        public void OnFrame(ReadOnlySpan<byte> frame, in EventSlot decoded)
        {
            if (Stopped || !_owner.EnsureRoom(frame, _read))
            {
                return;
            }

            if ((frame[FlagsOffset] & BinaryFrame.FlagAckRequested) != 0)
            {
                _owner.AckRequested = true;
            }

            EventSlot slot = decoded;
            if ((slot.Flags & EventFlags.HasTimestamp) == 0)
            {
                slot.Timestamp = ReadUnixNanos;
            }

            IngestBuffers buffers = _owner._buffers!;
            if (buffers.Catalog.RowBytes != 0)
            {
                // Frames have no named fields; their keys (type, key) are hashed here, on the reader.
                FieldIndexer.Index(in slot, frame, buffers.Catalog, buffers.Row(buffers.StagedCount));
            }

            _owner.Stage(frame, ref slot, _read);
        }

        public void OnInvalid(ReadOnlySpan<byte> frame, InvalidReason reason)
        {
            if (!Stopped)
            {
                if ((frame[FlagsOffset] & BinaryFrame.FlagAckRequested) != 0)
                {
                    _owner.AckRequested = true;
                }

                _owner.Invalid(reason, frame);
            }
        }
    }
}
