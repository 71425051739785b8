using System.Runtime.InteropServices;

namespace EventDaemon.Daemon.Runtime;

/// <summary>
/// The positions and counters of one lane of a <see cref="StageTap"/>, each side's on a cache line
/// of its own: the lane's one stage thread writes <see cref="Write"/>, <see cref="Seen"/>,
/// <see cref="Taken"/>, <see cref="Dropped"/> and <see cref="Reserved"/> on every tapped event, the control thread writes <see cref="Read"/> as
/// it sends, and neither side's stores evict the other's line.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 192)]
internal struct TapCursors
{
    // padding: 0..63, so the stage thread's line shares nothing with whatever precedes the struct.

    /// <summary>Bytes written since the buffer was made (monotonic, not wrapped).</summary>
    /// <remarks>Written by the stage thread with release (<see cref="Volatile.Write(ref long, long)"/>) after the record's bytes; read by the control thread with acquire.</remarks>
    [FieldOffset(64)] public long Write;

    /// <summary>Events offered while attached, for sampling 1/N.</summary>
    /// <remarks>Stage thread only: plain reads and writes.</remarks>
    [FieldOffset(72)] public long Seen;

    /// <summary>Events copied into the buffer.</summary>
    /// <remarks>Written by the stage thread only (plain store); read by the control thread with <see cref="Volatile.Read(ref readonly long)"/> (a torn read cannot happen on 64-bit).</remarks>
    [FieldOffset(80)] public long Taken;

    /// <summary>Events sampled but not copied because the buffer had no room: the client reads too slowly.</summary>
    /// <remarks>As <see cref="Taken"/>.</remarks>
    [FieldOffset(88)] public long Dropped;

    /// <summary>Where the record being written starts (after any wrap): set when room is found, used when it is committed.</summary>
    /// <remarks>Stage thread only: plain reads and writes.</remarks>
    [FieldOffset(96)] public long Reserved;

    // padding: 104..127

    /// <summary>Bytes the control thread has taken out of the buffer (monotonic).</summary>
    /// <remarks>Written by the control thread with release after it copied the bytes out; read by the stage thread with acquire before it reuses them.</remarks>
    [FieldOffset(128)] public long Read;

    // padding: 136..191, so the control thread's line shares nothing with what follows.
}
