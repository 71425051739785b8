using System.Buffers.Binary;

namespace EventDaemon.Events.Codecs;

/// <summary>Layout constants of the binary frame format, version 1 (see PROTOCOL.md).</summary>
public static class BinaryFrame
{
    public const byte Version1 = 1;

    /// <summary>Bytes before the variable part: the 4-byte length plus the 28-byte fixed header.</summary>
    public const int HeaderSize = 32;

    /// <summary>Smallest legal <c>frame_length</c> (fixed header without the length field itself).</summary>
    public const int MinFrameLength = HeaderSize - 4;

    public const byte FlagHasTimestamp = 1 << 0;
    public const byte FlagHasValue = 1 << 1;
    public const byte FlagHasType = 1 << 2;
    public const byte FlagHasKey = 1 << 3;

    /// <summary>The sender wants acknowledgements on this connection (PROTOCOL.md, "Acknowledgements").
    /// Not a field of the event: the decoder accepts it and the slot does not carry it.</summary>
    public const byte FlagAckRequested = 1 << 4;

    /// <summary>Flag bits a version-1 frame may set.</summary>
    public const byte KnownFlags = FlagHasTimestamp | FlagHasValue | FlagHasType | FlagHasKey | FlagAckRequested;

    internal const int OffsetVersion = 4;
    internal const int OffsetFlags = 5;
    internal const int OffsetReserved = 6;
    internal const int OffsetTimestamp = 8;
    internal const int OffsetValue = 16;
    internal const int OffsetTypeLength = 24;
    internal const int OffsetKeyLength = 26;
    internal const int OffsetPayloadLength = 28;

    /// <summary>The opaque payload of a decoded binary event (its slot's <c>Aux</c> is the payload offset).</summary>
    public static ReadOnlySpan<byte> Payload(ReadOnlySpan<byte> frame, in EventSlot slot) =>
        frame.Slice(slot.Aux, slot.PayloadLength - slot.Aux);

    internal static uint ReadFrameLength(ReadOnlySpan<byte> frame) => BinaryPrimitives.ReadUInt32LittleEndian(frame);
}
