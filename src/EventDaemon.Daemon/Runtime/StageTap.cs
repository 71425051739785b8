using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using EventDaemon.Daemon.Sinks;
using EventDaemon.Events;

namespace EventDaemon.Daemon.Runtime;

/// <summary>
/// The tap point of one source, stage, route output or sink (<c>eventd tap NAME</c>): one fixed
/// single-producer single-consumer byte ring per thread that produces into it (a <em>lane</em>),
/// into which that thread copies the events it sees leave, rendered as the sinks render them
/// (<see cref="EventJson"/>), while a client is attached; the control thread takes them out,
/// merging the lanes, and sends them.
/// </summary>
/// <remarks>
/// <para>
/// A tap must never slow the pipeline: with no client attached a producing thread pays one
/// volatile read per event (<see cref="TapGroup.Any"/>); attached, it samples 1 in N, copies the
/// event if its lane has room and otherwise counts it in <see cref="Dropped"/> and moves on. It
/// never waits and allocates nothing: the lanes are allocated once, pinned, by the control thread
/// on the first attach and kept for later ones.
/// </para>
/// <para>
/// A split stage (<c>threads = N</c>) has one lane per thread, so that each lane keeps one
/// producer. <see cref="Drain"/> takes lanes in turn: the order of the events of one thread is
/// kept, the order across threads is not (the threads themselves do not agree on one).
/// </para>
/// <para>
/// A record is a 4-byte length and the line, padded to 4 bytes. One that does not fit before the
/// end of the lane leaves a length of <see cref="WrapMarker"/> there and starts again at 0.
/// </para>
/// </remarks>
public sealed class StageTap
{
    /// <summary>
    /// 256 KiB per lane: a few thousand typical events, so a client that reads as fast as a
    /// terminal or a pipe loses nothing to short bursts, and a stage that is never tapped costs
    /// nothing (the lanes are made on the first attach).
    /// </summary>
    public const int Capacity = 256 * 1024;

    private const int HeaderBytes = sizeof(int);
    private const int WrapMarker = -1;
    private const int Mask = Capacity - 1;

    private readonly Lane[] _lanes;
    private long _sample = 1;
    private volatile bool _attached;
    private int _clients;

    /// <summary>Control thread only: the lane the next <see cref="Drain"/> starts with, so no lane waits behind a busier one.</summary>
    private int _nextLane;

    /// <param name="name">The source, stage, route output (<c>route.output</c>) or sink it taps.</param>
    /// <param name="lanes">Threads that offer to it: a split stage's thread count, otherwise 1.</param>
    /// <param name="group">The taps served by the same thread(s), which those threads check once per event; a group of its own when null.</param>
    public StageTap(string name, int lanes = 1, TapGroup? group = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lanes, 1);
        Stage = name;
        Group = group ?? new TapGroup();
        _lanes = new Lane[lanes];
        for (int i = 0; i < lanes; i++)
        {
            _lanes[i] = new Lane();
        }
    }

    /// <summary>What this taps: a source, stage, route output or sink name.</summary>
    public string Stage { get; }

    /// <summary>The taps whose threads check for a client once for all (see <see cref="TapGroup"/>).</summary>
    public TapGroup Group { get; }

    /// <summary>The threads that offer to this tap, one lane each.</summary>
    public int Lanes => _lanes.Length;

    /// <summary>Whether a client is attached: checked after <see cref="TapGroup.Any"/> said one of the group's is.</summary>
    /// <remarks>Volatile: the attach's writes (lanes, sample, positions) are visible once this reads true.</remarks>
    public bool Attached
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _attached;
    }

    /// <summary>Events copied for clients since start, over all lanes.</summary>
    public long Taken
    {
        get
        {
            long sum = 0;
            foreach (Lane lane in _lanes)
            {
                sum += Volatile.Read(ref lane.Cursors.Taken);
            }

            return sum;
        }
    }

    /// <summary>Events sampled for a client but dropped because it did not keep up, over all lanes.</summary>
    public long Dropped
    {
        get
        {
            long sum = 0;
            foreach (Lane lane in _lanes)
            {
                sum += Volatile.Read(ref lane.Cursors.Dropped);
            }

            return sum;
        }
    }

    /// <summary>
    /// Attaches the one client a tap serves at a time (control thread), keeping 1 in
    /// <paramref name="sample"/> events of each lane; false when another client is attached.
    /// </summary>
    public bool TryAttach(long sample)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sample, 1);
        if (Interlocked.CompareExchange(ref _clients, 1, 0) != 0)
        {
            return false;
        }

        foreach (Lane lane in _lanes)
        {
            lane.Ring ??= GC.AllocateUninitializedArray<byte>(Capacity, pinned: true);

            // Whatever an earlier client left unread is skipped. No stage thread is writing: they
            // only write while attached, and the last detach came before this attach.
            Volatile.Write(ref lane.Cursors.Read, Volatile.Read(ref lane.Cursors.Write));
        }

        _sample = sample;
        _attached = true;
        Group.Attached();
        return true;
    }

    /// <summary>Detaches the client (control thread); the stage threads stop copying at their next event.</summary>
    public void Detach()
    {
        if (!_attached)
        {
            return;
        }

        _attached = false;
        Group.Detached();
        Volatile.Write(ref _clients, 0);
    }

    /// <summary>Offers an event of lane 0 (a tap with one producing thread): see <see cref="Offer(int, ref readonly EventSlot, ReadOnlySpan{byte})"/>.</summary>
    public void Offer(ref readonly EventSlot slot, ReadOnlySpan<byte> payload) => Offer(0, in slot, payload);

    /// <summary>
    /// Offers an event that left (the lane's one thread, only while <see cref="Attached"/>): rendered
    /// and copied when it is sampled and fits, counted in <see cref="Dropped"/> when it is sampled and does not.
    /// </summary>
    public void Offer(int lane, ref readonly EventSlot slot, ReadOnlySpan<byte> payload)
    {
        Lane l = _lanes[lane];
        if (!Sampled(l))
        {
            return;
        }

        int longest = EventJson.MaxLength(in slot);
        if (TryReserve(l, longest, out Span<byte> room))
        {
            Commit(l, EventJson.Write(in slot, payload, room));
        }
    }

    /// <summary>
    /// Offers a line already rendered (a sink's, with its enrich columns; lane 0's one thread, only
    /// while <see cref="Attached"/>): copied when it is sampled and fits, counted as dropped when not.
    /// </summary>
    public void OfferLine(ReadOnlySpan<byte> line)
    {
        Lane l = _lanes[0];
        if (!Sampled(l))
        {
            return;
        }

        if (TryReserve(l, line.Length, out Span<byte> room))
        {
            line.CopyTo(room);
            Commit(l, line.Length);
        }
    }

    /// <summary>
    /// Moves whole lines into <paramref name="destination"/> while they fit (control thread), a
    /// lane at a time starting with the one after last call's first, and returns the bytes
    /// written; 0 when nothing is waiting or the next line does not fit.
    /// </summary>
    public int Drain(Span<byte> destination)
    {
        int copied = 0;
        int first = _nextLane;
        for (int i = 0; i < _lanes.Length; i++)
        {
            copied += Drain(_lanes[(first + i) % _lanes.Length], destination[copied..]);
        }

        _nextLane = (first + 1) % _lanes.Length;
        return copied;
    }

    /// <summary>Whether the lane keeps this event: 1 in N, counted per lane; no division when every event is kept (the usual tap).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Sampled(Lane lane) => _sample == 1 || ++lane.Cursors.Seen % _sample == 0;

    /// <summary>Room for a line of at most <paramref name="longest"/> bytes, or a counted drop.</summary>
    private static bool TryReserve(Lane lane, int longest, out Span<byte> room)
    {
        ref TapCursors cursors = ref lane.Cursors;
        byte[] ring = lane.Ring!;
        int need = HeaderBytes + Align(longest);
        long write = cursors.Write;
        long free = Capacity - (write - Volatile.Read(ref cursors.Read));
        int at = (int)(write & Mask);
        int beforeEnd = Capacity - at;
        int skip = need > beforeEnd ? beforeEnd : 0;
        if (need + skip > free || need > Capacity / 2)
        {
            cursors.Dropped++;
            room = default;
            return false;
        }

        if (skip != 0)
        {
            BinaryPrimitives.WriteInt32LittleEndian(ring.AsSpan(at), WrapMarker);
            at = 0;
        }

        cursors.Reserved = write + skip;
        room = ring.AsSpan(at + HeaderBytes, longest);
        return true;
    }

    private static void Commit(Lane lane, int length)
    {
        ref TapCursors cursors = ref lane.Cursors;
        long start = cursors.Reserved;
        BinaryPrimitives.WriteInt32LittleEndian(lane.Ring.AsSpan((int)(start & Mask)), length);
        cursors.Taken++;
        Volatile.Write(ref cursors.Write, start + HeaderBytes + Align(length));
    }

    private static int Drain(Lane lane, Span<byte> destination)
    {
        byte[]? ring = lane.Ring;
        if (ring is null)
        {
            return 0;
        }

        ref TapCursors cursors = ref lane.Cursors;
        long read = cursors.Read;
        long write = Volatile.Read(ref cursors.Write);
        int copied = 0;
        while (read < write)
        {
            int at = (int)(read & Mask);
            int length = BinaryPrimitives.ReadInt32LittleEndian(ring.AsSpan(at));
            if (length == WrapMarker)
            {
                read += Capacity - at;
                continue;
            }

            if (length > destination.Length - copied)
            {
                break;
            }

            ring.AsSpan(at + HeaderBytes, length).CopyTo(destination[copied..]);
            copied += length;
            read += HeaderBytes + Align(length);
        }

        Volatile.Write(ref cursors.Read, read);
        return copied;
    }

    private static int Align(int bytes) => (bytes + 3) & ~3;

    /// <summary>One producing thread's ring and positions: an object of its own, so two lanes' hot lines never meet.</summary>
    private sealed class Lane
    {
        /// <summary>Mutable struct: its fields are updated in place, so it is not readonly.</summary>
        public TapCursors Cursors;

        /// <summary>Made by the control thread on the first attach, before any producer may write.</summary>
        public byte[]? Ring;
    }
}
