using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EventDaemon.Daemon.Runtime;

/// <summary>
/// Whether any of a set of <see cref="StageTap"/>s has a client: the one check per event of a
/// thread that offers to several taps (a route's outputs, the sources of a ring), so an untapped
/// event costs one read however many tap points the thread serves.
/// </summary>
/// <remarks>
/// Padded to two cache lines with the count in the second: every thread that offers reads it on
/// every event, and a control thread writes it only on attach and detach, so no neighbour's stores
/// may evict the line.
/// </remarks>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct TapGroupCount
{
    // padding: 0..63

    /// <summary>Clients attached to taps of the group.</summary>
    /// <remarks>Changed by the control thread with <see cref="Interlocked.Add(ref int, int)"/>; read by stage threads with acquire.</remarks>
    [FieldOffset(64)] public int Attached;

    // padding: 68..127
}

/// <summary>A set of taps served by the same thread(s): see <see cref="TapGroupCount"/>.</summary>
public sealed class TapGroup
{
    /// <summary>Mutable struct: its count is changed in place, so it is not readonly.</summary>
    private TapGroupCount _count;

    /// <summary>A group none of whose taps is ever attached: for threads that serve no tap of that kind.</summary>
    internal static TapGroup Never { get; } = new();

    /// <summary>Whether a client taps any tap of the group.</summary>
    /// <remarks>Acquire: the attach's writes (ring, sample, positions) are visible once this reads true.</remarks>
    public bool Any
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref _count.Attached) != 0;
    }

    internal void Attached() => Interlocked.Increment(ref _count.Attached);

    internal void Detached() => Interlocked.Decrement(ref _count.Attached);
}
