using System.Runtime.InteropServices;

namespace EventDaemon.Events;

/// <summary>
/// One event as it sits in a ring slot: the well-known fields decoded once at ingest, and the
/// location of the event's original bytes in the payload arena. 64 bytes, one cache line, so a
/// consumer touching a slot pulls exactly one line from the producer's core.
/// </summary>
/// <remarks>
/// Offsets of <c>type</c>/<c>key</c> are relative to the payload start and point at the raw
/// (still JSON-escaped, unquoted) string bytes; lengths are limited to 65535 bytes by the codecs.
/// A stage never writes another stage's fields: the decoder owns everything but <see cref="Marks"/>,
/// and each filter or route owns its own bit in <see cref="Marks"/>.
/// </remarks>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public struct EventSlot
{
    public const int Size = 64;

    /// <summary>Event time, Unix nanoseconds (ingest wall-clock time when the event had none).</summary>
    [FieldOffset(0)] public long Timestamp;

    /// <summary>Monotonic nanoseconds when the event was decoded; the origin of every latency figure.</summary>
    [FieldOffset(8)] public long IngestNanos;

    /// <summary>The <c>value</c> field; meaningful only with <see cref="EventFlags.HasValue"/>.</summary>
    [FieldOffset(16)] public double Value;

    /// <summary>Arena position (monotonic, not wrapped) of the first payload byte.</summary>
    [FieldOffset(24)] public long PayloadPosition;

    /// <summary>One bit per filtering stage: set = the stage dropped the event. Written only by that stage.</summary>
    [FieldOffset(32)] public ulong Marks;

    [FieldOffset(40)] public int PayloadLength;
    [FieldOffset(44)] public int TypeOffset;
    [FieldOffset(48)] public int KeyOffset;
    [FieldOffset(52)] public ushort TypeLength;
    [FieldOffset(54)] public ushort KeyLength;
    [FieldOffset(56)] public ushort SourceId;
    [FieldOffset(58)] public EventFlags Flags;

    /// <summary>Binary frames: offset of the opaque payload within the payload bytes, written by the
    /// decoder; 0 for JSON events. Nothing else: a stage's own per-event results live in side arrays
    /// the stage owns (an enrich stage's matched rows: <c>EnrichRows</c>).</summary>
    [FieldOffset(60)] public int Aux;
}

[Flags]
public enum EventFlags : ushort
{
    None = 0,
    HasTimestamp = 1 << 0,
    HasType = 1 << 1,
    HasKey = 1 << 2,
    HasValue = 1 << 3,
    /// <summary><c>type</c> contains JSON escapes; compare after unescaping.</summary>
    TypeEscaped = 1 << 4,
    /// <summary><c>key</c> contains JSON escapes; compare after unescaping.</summary>
    KeyEscaped = 1 << 5,
    /// <summary>Payload is a binary frame, not a JSON line.</summary>
    Binary = 1 << 6,
    /// <summary>Created by a stage (e.g. an aggregate's window result), not received.</summary>
    Generated = 1 << 7,
}
