using System.Diagnostics;
using System.Runtime.CompilerServices;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Fields;
using EventDaemon.Events.Memory;
using EventDaemon.Ring;
using EventDaemon.Ring.Memory;
using EventDaemon.Ring.Sequencing;

namespace EventDaemon.Events.Ingest;

/// <summary>
/// A ring of <see cref="EventSlot"/>s with the payload arena their bytes live in, and the one
/// door producers come in by. Producers (source threads) take turns per batch, typically one
/// socket read: inside a batch, events are claimed and their bytes copied without any atomic
/// operation, and the whole batch is published with one release store.
/// </summary>
/// <remarks>
/// Serialising producers per batch is what lets slots and payloads share one order: payload
/// positions grow with sequences, so the arena's free space is simply everything before the
/// payload of the oldest slot some consumer has not finished.
/// </remarks>
public sealed class EventRing : IDisposable
{
    private readonly Lock _producerLock = new();
    private readonly SingleProducerSequencer _sequencer;
    private readonly bool _lockMemory;
    private FieldCatalog _catalog = FieldCatalog.Empty;
    private NativeRegion? _rows;

    /// <summary>An arena tail (<see cref="Tail"/>) computed by some producer in its turn: everything
    /// before it was free then, so it still is. Read and written only under the producer turn.</summary>
    /// <remarks>Padded: a write here must not invalidate the line of the fields consumers read for
    /// every event (<see cref="Arena"/>, <see cref="Catalog"/>, the rows).</remarks>
    private PaddedLong _knownTail;

    public EventRing(int slots, long arenaBytes, bool lockMemory, bool notifyOnPublish)
    {
        Slots = new RingBuffer<EventSlot>(slots, lockMemory);
        Arena = new PayloadArena(arenaBytes, lockMemory);
        _sequencer = new SingleProducerSequencer(slots, notifyOnPublish);
        _lockMemory = lockMemory;
    }

    /// <summary>What stages read of this ring (payloads and decoded rows, no producer door), for
    /// the catalog installed now.</summary>
    public EventReader Reader => new(this, Catalog);

    /// <summary>A reader for the stages of a graph that will install <paramref name="catalog"/>.</summary>
    public EventReader ReaderFor(FieldCatalog catalog) => new(this, catalog);

    /// <summary>The fields and keys every event's row holds (see <see cref="FieldCatalog"/>).</summary>
    /// <remarks>Volatile read: a producer reads it before decoding outside its turn, and
    /// <see cref="IngestBatch.TryAppend(ref readonly EventSlot, ReadOnlySpan{byte}, ReadOnlySpan{byte}, FieldCatalog, bool)"/>
    /// re-indexes a row decoded under a catalog that was replaced meanwhile.</remarks>
    public FieldCatalog Catalog => Volatile.Read(ref _catalog);

    /// <summary>
    /// Installs the catalog of the graph about to start. Only while no stage runs and no producer
    /// can append: before the first start, or while a reload holds the producer turn after the old
    /// graph has halted. Rows are reallocated when their size changes.
    /// </summary>
    public void UseCatalog(FieldCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        if (catalog.RowBytes != _catalog.RowBytes)
        {
            NativeRegion? old = _rows;
            _rows = catalog.RowBytes == 0 ? null : NativeRegion.Allocate((long)Capacity * catalog.RowBytes, _lockMemory);
            old?.Dispose();
        }

        Volatile.Write(ref _catalog, catalog);
    }

    /// <summary>The decoder's row of a slot (<see cref="FieldCatalog.RowBytes"/>; empty without a catalog).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Span<byte> Row(long sequence)
    {
        int bytes = _catalog.RowBytes;
        return bytes == 0 ? default : _rows!.Slice((sequence & (Capacity - 1)) * bytes, bytes);
    }

    public RingBuffer<EventSlot> Slots { get; }

    public PayloadArena Arena { get; }

    public Sequencer Sequencer => _sequencer;

    public int Capacity => Slots.Capacity;

    /// <summary>Published slots not yet released by every consumer.</summary>
    public long Occupancy
    {
        get
        {
            long cursor = _sequencer.Cursor.Value;
            return cursor - _sequencer.MinimumGating(cursor);
        }
    }

    /// <summary>Arena bytes held by events some consumer still needs.</summary>
    public long ArenaUsed => Arena.Used(Tail(_sequencer.Cursor.Value));

    /// <summary>The payload of a slot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> Payload(ref readonly EventSlot slot) => Arena.At(slot.PayloadPosition, slot.PayloadLength);

    /// <summary>Opens a batch: takes the producer turn until the batch is disposed.</summary>
    /// <param name="runIdleStages">After publishing, run the stages that lend themselves while
    /// parked (idle hand-off). False for producers that must never wait on a stage's handler:
    /// datagram sources, whose kernel would drop (uncounted) what arrives meanwhile.</param>
    public IngestBatch BeginBatch(bool runIdleStages = true)
    {
        _producerLock.Enter();
        return new IngestBatch(this, runIdleStages);
    }

    /// <summary>Opens a batch only if no other producer holds the turn now.</summary>
    public bool TryBeginBatch(out IngestBatch batch) => TryBeginBatch(TimeSpan.Zero, out batch);

    /// <summary>Opens a batch if the producer turn comes free within <paramref name="timeout"/>.</summary>
    public bool TryBeginBatch(TimeSpan timeout, out IngestBatch batch)
    {
        if (_producerLock.TryEnter(timeout))
        {
            batch = new IngestBatch(this, runIdleStages: false);
            return true;
        }

        batch = default;
        return false;
    }

    internal void EndBatch(long firstPending, long lastClaimed, bool runIdleStages)
    {
        bool published = lastClaimed >= firstPending;
        if (published && runIdleStages)
        {
            _sequencer.PublishForHandoff(lastClaimed);
        }
        else if (published)
        {
            _sequencer.Publish(lastClaimed);
        }

        _producerLock.Exit();
        if (published && runIdleStages)
        {
            // Outside the turn, so other producers are not held up by a stage this one runs.
            _sequencer.RunIdleStages();
        }
    }

    /// <summary>
    /// Claims a slot and reserves the payload's bytes, publishing the batch so far first when it
    /// must wait for consumers. Returns false only when <paramref name="wait"/> is false and the
    /// ring or arena is full.
    /// </summary>
    internal bool TryClaim(int length, bool wait, ref long firstPending, ref long lastClaimed, out long sequence, out long position)
    {
        if (_sequencer.TryNext(out sequence))
        {
            // The tail last computed first: reading every consumer's sequence (lines other cores
            // write) per event costs more than the copy. An old tail is never past the real one,
            // so it can only find less room, never too much.
            if (Arena.TryReserve(length, _knownTail.Value, out position)
                || Arena.TryReserve(length, _knownTail.Value = Tail(sequence - 1), out position))
            {
                lastClaimed = sequence;
                return true;
            }

            Unclaim(sequence);
        }

        return ClaimSlow(length, wait, ref firstPending, ref lastClaimed, out sequence, out position);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool ClaimSlow(int length, bool wait, ref long firstPending, ref long lastClaimed, out long sequence, out long position)
    {
        sequence = 0;
        position = 0;
        if (!wait)
        {
            return false;
        }

        // Consumers can only free space up to what is published: publish the batch so far.
        if (lastClaimed >= firstPending)
        {
            _sequencer.Publish(lastClaimed);
            firstPending = lastClaimed + 1;
        }

        var spin = new SpinWait();
        while (true)
        {
            if (_sequencer.TryNext(out sequence))
            {
                if (Arena.TryReserve(length, _knownTail.Value = Tail(sequence - 1), out position))
                {
                    lastClaimed = sequence;
                    return true;
                }

                Unclaim(sequence);
            }

            // Back off without burning the core the consumers need (2-core machines).
            spin.SpinOnce(sleep1Threshold: 30);
        }
    }

    /// <summary>Gives back a sequence claimed in this batch and never written: only the single
    /// producer in its turn can do this, and only for its last claim.</summary>
    private void Unclaim(long sequence) => _sequencer.Unclaim(sequence);

    /// <summary>
    /// The arena position before which every byte is free: the payload start of the oldest slot
    /// not yet released by every consumer, or the head when all of them are released.
    /// </summary>
    /// <param name="lastClaimedOrPublished">the newest sequence whose payload is reserved.</param>
    private long Tail(long lastClaimedOrPublished)
    {
        long released = _sequencer.MinimumGating(lastClaimedOrPublished);
        if (released >= lastClaimedOrPublished)
        {
            return Arena.Head;
        }

        // Slot released+1 is not reusable until every consumer passes it, so its position is stable.
        return Slots[released + 1].PayloadPosition;
    }

    public void Dispose()
    {
        Slots.Dispose();
        Arena.Dispose();
        _rows?.Dispose();
    }
}

/// <summary>One producer's turn at the ring: claim, fill and (on dispose) publish a run of events.</summary>
public struct IngestBatch : IDisposable
{
    private readonly EventRing? _ring;
    private readonly bool _runIdleStages;
    private long _firstPending;
    private long _lastClaimed;

    internal IngestBatch(EventRing ring, bool runIdleStages)
    {
        _ring = ring;
        _runIdleStages = runIdleStages;
        _firstPending = ring.Sequencer.Cursor.Value + 1;
        _lastClaimed = _firstPending - 1;
    }

    /// <summary>Events appended in this batch.</summary>
    public readonly long Count => _lastClaimed - _firstPending + 1;

    /// <summary>
    /// Copies <paramref name="decoded"/> and <paramref name="payload"/> into the ring. With
    /// <paramref name="wait"/> (stream sources) a full ring or arena blocks until consumers make
    /// room; without it (datagram sources) the event is refused and false returned.
    /// </summary>
    /// <remarks>The event's row, when the ring's catalog has one, is decoded here from the payload
    /// (stages' generated lines; tests): producers that decode pass theirs with the other overload.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAppend(scoped ref readonly EventSlot decoded, scoped ReadOnlySpan<byte> payload, bool wait) =>
        TryAppend(in decoded, payload, default, null, wait);

    /// <summary>
    /// As above, with the row the decoder filled for <paramref name="rowCatalog"/>. When a reload
    /// installed another catalog since, the row is made again from the payload for the new one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAppend(scoped ref readonly EventSlot decoded, scoped ReadOnlySpan<byte> payload, scoped ReadOnlySpan<byte> row,
        FieldCatalog? rowCatalog, bool wait)
    {
        Debug.Assert(_ring is not null, "batch not opened by EventRing.BeginBatch");
        if (!_ring.TryClaim(payload.Length, wait, ref _firstPending, ref _lastClaimed, out long sequence, out long position))
        {
            return false;
        }

        Span<byte> stored = _ring.Arena.At(position, payload.Length);
        payload.CopyTo(stored);
        ref EventSlot slot = ref _ring.Slots[sequence];
        slot = decoded;
        slot.PayloadPosition = position;
        slot.PayloadLength = payload.Length;
        Span<byte> target = _ring.Row(sequence);
        if (!target.IsEmpty)
        {
            if (ReferenceEquals(rowCatalog, _ring.Catalog))
            {
                row.CopyTo(target);
            }
            else
            {
                FieldIndexer.Index(in slot, stored, _ring.Catalog, target);
            }
        }

        return true;
    }

    /// <summary>Publishes everything appended and hands the producer turn back.</summary>
    public void Dispose()
    {
        _ring?.EndBatch(_firstPending, _lastClaimed, _runIdleStages);
        this = default;
    }
}
