using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;

namespace EventDaemon.Events.Tests.Support;

internal sealed record DecodedFrame(byte[] Bytes, EventSlot Slot);

/// <summary>Collects decoder output and checks, for every frame, that the slot's offsets lie inside the frame.</summary>
internal struct FrameCollector : IFrameSink
{
    public FrameCollector()
    {
    }

    public List<DecodedFrame> Frames { get; } = [];

    public List<InvalidReason> Invalid { get; } = [];

    public readonly void OnFrame(ReadOnlySpan<byte> frame, in EventSlot decoded)
    {
        Assert.True(decoded.PayloadLength == frame.Length, $"PayloadLength {decoded.PayloadLength} should equal the frame length {frame.Length}");
        Assert.True((decoded.Flags & EventFlags.Binary) != 0, "binary frames must carry the Binary flag");
        Assert.True(decoded.TypeOffset >= BinaryFrame.HeaderSize && decoded.TypeOffset + decoded.TypeLength <= frame.Length, "type must lie inside the frame");
        Assert.True(decoded.KeyOffset >= BinaryFrame.HeaderSize && decoded.KeyOffset + decoded.KeyLength <= frame.Length, "key must lie inside the frame");
        Assert.True(decoded.Aux >= BinaryFrame.HeaderSize && decoded.Aux <= frame.Length, "payload offset must lie inside the frame");
        Frames.Add(new DecodedFrame(frame.ToArray(), decoded));
    }

    public readonly void OnInvalid(ReadOnlySpan<byte> frame, InvalidReason reason)
    {
        Assert.True(reason is InvalidReason.BadValue or InvalidReason.InvalidUtf8, $"only content reasons are reported per frame, got {reason}");
        Invalid.Add(reason);
    }
}
