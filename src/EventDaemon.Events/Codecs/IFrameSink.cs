using EventDaemon.Events.BadInput;

namespace EventDaemon.Events.Codecs;

/// <summary>
/// Receives what <see cref="BinaryFrameDecoder"/> decodes. Implement it on a struct and pass it by
/// reference so the calls are devirtualised. Spans are only valid during the call; a call may
/// block (ring full) to push back on the connection, as with <see cref="ILineSink"/>.
/// </summary>
public interface IFrameSink
{
    /// <summary>
    /// One valid frame: its complete bytes (length prefix included) and the decoded fields, with
    /// offsets relative to the frame start. Copy both into the ring slot and the arena.
    /// </summary>
    void OnFrame(ReadOnlySpan<byte> frame, in EventSlot decoded);

    /// <summary>
    /// A well-formed frame whose content is unusable (<see cref="InvalidReason.BadValue"/> for a
    /// non-finite value, <see cref="InvalidReason.InvalidUtf8"/> for type/key bytes). The frame is
    /// skipped and the stream continues: its boundaries are still known.
    /// </summary>
    void OnInvalid(ReadOnlySpan<byte> frame, InvalidReason reason);
}
