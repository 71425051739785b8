using System.Runtime.InteropServices;

namespace EventDaemon.Perf.Journal.Internal;

/// <summary>
/// A 64-bit value alone on its pair of cache lines: the writer's published position and the
/// syncer's durable position are each written by one thread and read by the other, and must not
/// share a line with each other or with anything the writer touches per record.
/// </summary>
/// <remarks>
/// The value sits in the middle of 128 bytes because x86 prefetches lines in adjacent pairs.
/// Readers use <see cref="Volatile.Read(ref readonly long)"/> (acquire), the one writer
/// <see cref="Volatile.Write(ref long, long)"/> (release).
/// </remarks>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct PaddedLong
{
    public const int Size = 128;
    public const int ValueOffset = 64;

    // padding: bytes 0–63 and 72–127 are unused.
    [FieldOffset(ValueOffset)]
    public long Value;
}
