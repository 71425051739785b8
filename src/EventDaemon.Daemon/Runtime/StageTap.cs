using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using EventDaemon.Daemon.Sinks;
using EventDaemon.Events;

namespace EventDaemon.Daemon.Runtime;

/// <summary>
/// The tap point of one stage (<c>eventd tap STAGE</c>): a fixed single-producer single-consumer
/// byte ring into which the stage thread copies the events leaving the stage, rendered as the
/// sinks render them (<see cref="EventJson"/>), while a client is attached; the control thread
/// takes them out and sends them.
/// </summary>
/// <remarks>
/// <para>
/// A tap must never slow the pipeline: with no client attached the stage thread pays one volatile
/// read per event (<see cref="Attached"/>); attached, it samples 1 in N, copies the event if the
/// ring has room and otherwise counts it in <see cref="Dropped"/> and moves on. It never waits and
/// allocates nothing: the ring is allocated once, pinned, by the control thread on the first
/// attach and kept for later ones.
/// </para>
/// <para>
/// A record is a 4-byte length and the line, padded to 4 bytes. One that does not fit before the
/// end of the ring leaves a length of <see cref="WrapMarker"/> there and starts again at 0.
/// </para>
/// </remarks>
public sealed class StageTap
{
    /// <summary>
    /// 256 KiB: a few thousand typical events, so a client that reads as fast as a terminal or a
    /// pipe loses nothing to short bursts, and a stage that is never tapped costs nothing (the
    /// ring is made on the first attach).
    /// </summary>
    public const int Capacity = 256 * 1024;

    private const int HeaderBytes = sizeof(int);
    private const int WrapMarker = -1;
    private const int Mask = Capacity - 1;

    /// <summary>Mutable struct: its fields are updated in place, so it is not readonly.</summary>
    private TapCursors _cursors;
    private byte[]? _ring;
    private long _sample = 1;
    private volatile bool _attached;
    private int _clients;

    public StageTap(string stage) => Stage = stage;

    /// <summary>The stage whose output this taps.</summary>
    public string Stage { get; }

    /// <summary>Whether a client is attached; the stage thread's one check per event.</summary>
    /// <remarks>Volatile: the attach's writes (ring, sample, positions) are visible once this reads true.</remarks>
    public bool Attached
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _attached;
    }

    /// <summary>Events copied for clients since start.</summary>
    public long Taken => Volatile.Read(ref _cursors.Taken);

    /// <summary>Events sampled for a client but dropped because it did not keep up.</summary>
    public long Dropped => Volatile.Read(ref _cursors.Dropped);

    /// <summary>
    /// Attaches the one client a tap serves at a time (control thread), keeping 1 in
    /// <paramref name="sample"/> events; false when another client is attached.
    /// </summary>
    public bool TryAttach(long sample)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sample, 1);
        if (Interlocked.CompareExchange(ref _clients, 1, 0) != 0)
        {
            return false;
        }

        _ring ??= GC.AllocateUninitializedArray<byte>(Capacity, pinned: true);
        _sample = sample;

        // Whatever an earlier client left unread is skipped. The stage thread is not writing: it
        // only writes while attached, and the last detach came before this attach.
        Volatile.Write(ref _cursors.Read, Volatile.Read(ref _cursors.Write));
        _attached = true;
        return true;
    }

    /// <summary>Detaches the client (control thread); the stage thread stops copying at its next event.</summary>
    public void Detach()
    {
        _attached = false;
        Volatile.Write(ref _clients, 0);
    }

    /// <summary>
    /// Offers an event leaving the stage (stage thread, only while <see cref="Attached"/>): copied
    /// when it is sampled and fits, counted in <see cref="Dropped"/> when it is sampled and does not.
    /// </summary>
    public void Offer(ref readonly EventSlot slot, ReadOnlySpan<byte> payload)
    {
        if (++_cursors.Seen % _sample != 0)
        {
            return;
        }

        byte[] ring = _ring!;
        int longest = EventJson.MaxLength(in slot);
        int need = HeaderBytes + Align(longest);
        long write = _cursors.Write;
        long free = Capacity - (write - Volatile.Read(ref _cursors.Read));
        int at = (int)(write & Mask);
        int beforeEnd = Capacity - at;
        long skip = need > beforeEnd ? beforeEnd : 0;
        if (need + skip > free || need > Capacity / 2)
        {
            _cursors.Dropped++;
            return;
        }

        if (skip != 0)
        {
            BinaryPrimitives.WriteInt32LittleEndian(ring.AsSpan(at), WrapMarker);
            at = 0;
        }

        int length = EventJson.Write(in slot, payload, ring.AsSpan(at + HeaderBytes, longest));
        BinaryPrimitives.WriteInt32LittleEndian(ring.AsSpan(at), length);
        _cursors.Taken++;
        Volatile.Write(ref _cursors.Write, write + skip + HeaderBytes + Align(length));
    }

    /// <summary>
    /// Moves whole lines into <paramref name="destination"/> while they fit (control thread) and
    /// returns the bytes written; 0 when nothing is waiting or the next line does not fit.
    /// </summary>
    public int Drain(Span<byte> destination)
    {
        byte[]? ring = _ring;
        if (ring is null)
        {
            return 0;
        }

        long read = _cursors.Read;
        long write = Volatile.Read(ref _cursors.Write);
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

        Volatile.Write(ref _cursors.Read, read);
        return copied;
    }

    private static int Align(int bytes) => (bytes + 3) & ~3;
}
