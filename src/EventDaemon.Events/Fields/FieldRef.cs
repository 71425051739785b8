using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EventDaemon.Events.Fields;

/// <summary>
/// Where one named field's value lies in an event's payload, recorded by the decoder during its one
/// pass over the line: 8 bytes, so a row of them beside the slot costs a cache line per 8 fields.
/// </summary>
/// <remarks>
/// <see cref="Offset"/> is relative to the payload start. A string covers the bytes between its
/// quotes (still escaped when <see cref="Escaped"/>); any other value its whole raw token. The
/// default (kind <see cref="JsonScalarKind.None"/>) means the field is absent. Numbers are never
/// converted here: a stage that wants the value converts the token it is handed
/// (<see cref="JsonScalar.TryGetInteger"/>, <see cref="JsonScalar.GetDouble"/>).
/// </remarks>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public readonly struct FieldRef
{
    /// <summary>Lengths fit in 24 bits: the longest event is 16 MiB (<c>max_event_bytes</c>), a value shorter still.</summary>
    public const int MaxLength = (1 << 24) - 1;

    private const int KindShift = 24;
    private const uint LengthMask = MaxLength;
    private const uint EscapedBit = 1u << 28;
    private const uint IntegerBit = 1u << 29;

    [FieldOffset(0)] private readonly int _offset;

    // Length (bits 0–23), kind (24–27), escaped (28), integer token (29).
    [FieldOffset(4)] private readonly uint _bits;

    public FieldRef(JsonScalarKind kind, int offset, int length, bool escaped, bool integer)
    {
        _offset = offset;
        _bits = ((uint)length & LengthMask) | ((uint)kind << KindShift) | (escaped ? EscapedBit : 0) | (integer ? IntegerBit : 0);
    }

    public int Offset => _offset;

    public int Length => (int)(_bits & LengthMask);

    public JsonScalarKind Kind => (JsonScalarKind)((_bits >> KindShift) & 0xF);

    public bool IsPresent => Kind != JsonScalarKind.None;

    public bool Escaped => (_bits & EscapedBit) != 0;

    /// <summary>A number token without fraction or exponent (it may still overflow 64 bits).</summary>
    public bool IsIntegerToken => (_bits & IntegerBit) != 0;

    /// <summary>The same location as the scalar the field readers hand out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public JsonScalar ToScalar() => new(Kind, _offset, Length, Escaped, IsIntegerToken);
}
