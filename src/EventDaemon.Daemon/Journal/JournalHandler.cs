using EventDaemon.Events;
using EventDaemon.Events.Ingest;
using EventDaemon.Ring;

namespace EventDaemon.Daemon.Journal;

/// <summary>
/// The journal stage: a leaf of the main ring, beside the first transforms, that appends every
/// event (its original bytes, times, source and flags) to the journal and writes a group at the end
/// of each batch (the writer also writes one each time a group reaches its bound within a batch). Transforms never wait for it; the ring cannot wrap past it, so an event's bytes stay
/// in the arena until the journal has copied them.
/// </summary>
/// <remarks>
/// A write that fails (the disk, or the end of a segment while the next cannot be allocated) is
/// retried with backoff while the stage holds its place in the ring: the ring fills behind it and
/// the sources are pushed back, and <see cref="JournalWriter.Problem"/> says why. On a source's
/// thread (idle hand-off) the stage is handed back instead of waiting there.
/// </remarks>
public struct JournalHandler : IEventHandler<EventSlot>
{
    private const int MaxBackoffMs = 1000;

    private readonly EventReader _ring;
    private readonly JournalWriter _writer;

    /// <summary>Which ring sequences were replayed (not journaled again) and the journal sequence live ones carry.</summary>
    private readonly JournalNumbering _numbering;

    /// <summary>Unix time minus the monotonic clock slots carry: the journal keeps ingest times as Unix
    /// time, since a replay after a reboot runs on another monotonic clock.</summary>
    private readonly long _wallOffset;

    public JournalHandler(EventReader ring, JournalWriter writer, long baseSequence, long wallOffsetNanos)
        : this(ring, writer, new JournalNumbering(baseSequence), wallOffsetNanos)
    {
    }

    internal JournalHandler(EventReader ring, JournalWriter writer, JournalNumbering numbering, long wallOffsetNanos)
    {
        _ring = ring;
        _writer = writer;
        _numbering = numbering;
        _wallOffset = wallOffsetNanos;
    }

    public readonly void OnStart()
    {
    }

    public readonly void OnEvent(ref EventSlot slot, long sequence, bool endOfBatch)
    {
        if (sequence < _numbering.FirstLive)
        {
            // Replayed from the journal at start: already there, under its own sequence.
            if (endOfBatch)
            {
                Flush(mayHandBack: true);
            }

            return;
        }

        var entry = new JournalEntry(_numbering.LiveBase + sequence, slot.Timestamp, slot.IngestNanos + _wallOffset, slot.SourceId, (ushort)slot.Flags);
        ReadOnlySpan<byte> payload = _ring.Payload(ref slot);
        if (!_writer.TryAppend(entry, payload))
        {
            // The group before this record could not be written: wait here, the record stays unread.
            Retry(mayHandBack: false);
            _writer.TryAppend(entry, payload);
        }

        if (endOfBatch)
        {
            Flush(mayHandBack: true);
        }
    }

    public readonly void OnTimeout(long sequence) => Flush(mayHandBack: false);

    public readonly void OnShutdown() => Flush(mayHandBack: false);

    private readonly void Flush(bool mayHandBack)
    {
        if (!_writer.Flush())
        {
            Retry(mayHandBack);
        }
    }

    /// <summary>Writes the pending group until it goes (or the journal stops), backing off between tries.</summary>
    private readonly void Retry(bool mayHandBack)
    {
        int backoffMs = 1;
        while (!_writer.Flush() && !_writer.IsStopping)
        {
            if (mayHandBack && StageHandoff.TryHandBack())
            {
                // Written by the stage's own thread on its next turn (OnTimeout).
                return;
            }

            Thread.Sleep(backoffMs);
            backoffMs = Math.Min(backoffMs * 2, MaxBackoffMs);
        }
    }
}
