using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;

namespace EventDaemon.Events.Fuzz.Targets;

/// <summary>
/// One input = a byte stream of frames; its first byte picks the read size. The streaming decoder
/// must deliver exactly what decoding the whole buffer frame by frame gives, and end in the same error.
/// </summary>
public static class BinaryTarget
{
    private const int Max = 1024;

    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        int chunk = 1 + input[0];
        ReadOnlySpan<byte> stream = input[1..];

        var decoder = new BinaryFrameDecoder(Max);
        var sink = new Sink();
        FrameError streamed = FrameError.None;
        for (int i = 0; i < stream.Length && streamed == FrameError.None; i += chunk)
        {
            streamed = decoder.Feed(stream.Slice(i, Math.Min(chunk, stream.Length - i)), ref sink);
        }

        if (streamed == FrameError.None)
        {
            streamed = decoder.Complete();
        }

        // Reference: DecodeOne over the whole buffer.
        int frames = 0, invalid = 0;
        long hash = 17;
        FrameError whole = FrameError.None;
        ReadOnlySpan<byte> rest = stream;
        var slot = default(EventSlot);
        while (!rest.IsEmpty)
        {
            whole = BinaryFrameDecoder.DecodeOne(rest, Max, ref slot, out int length, out InvalidReason reason);
            if (whole != FrameError.None)
            {
                break;
            }

            JsonTarget.Check(length >= BinaryFrame.HeaderSize && length <= rest.Length, $"DecodeOne length {length} out of range");
            if (reason == InvalidReason.None)
            {
                Sink.CheckSlot(rest[..length], in slot);
                frames++;
                hash = Sink.Hash(hash, rest[..length], in slot);
            }
            else
            {
                invalid++;
            }

            rest = rest[length..];
        }

        JsonTarget.Check(streamed == whole, $"streaming ended in {streamed.Label()}, whole-buffer decoding in {whole.Label()}");
        JsonTarget.Check(decoder.Error == streamed, "decoder error is not sticky");
        JsonTarget.Check(sink.Frames == frames && sink.Invalid == invalid, $"streaming gave {sink.Frames}+{sink.Invalid}, whole buffer {frames}+{invalid}");
        JsonTarget.Check(sink.HashValue == hash, "streamed frames differ from whole-buffer frames");
    }

    private struct Sink() : IFrameSink
    {
        public int Frames;
        public int Invalid;
        public long HashValue = 17;

        public void OnFrame(ReadOnlySpan<byte> frame, in EventSlot decoded)
        {
            CheckSlot(frame, in decoded);
            Frames++;
            HashValue = Hash(HashValue, frame, in decoded);
        }

        public void OnInvalid(ReadOnlySpan<byte> frame, InvalidReason reason)
        {
            JsonTarget.Check(reason is InvalidReason.BadValue or InvalidReason.InvalidUtf8, $"unexpected per-frame reason {reason}");
            Invalid++;
        }

        public static void CheckSlot(ReadOnlySpan<byte> frame, in EventSlot s)
        {
            JsonTarget.Check(s.PayloadLength == frame.Length && frame.Length <= Max, "PayloadLength is not the frame length");
            JsonTarget.Check((s.Flags & EventFlags.Binary) != 0, "binary flag missing");
            JsonTarget.Check(s.TypeOffset == BinaryFrame.HeaderSize && s.KeyOffset == s.TypeOffset + s.TypeLength && s.Aux == s.KeyOffset + s.KeyLength && s.Aux <= frame.Length,
                "field offsets are not contiguous inside the frame");
            JsonTarget.Check((s.Flags & EventFlags.HasValue) == 0 || double.IsFinite(s.Value), "non-finite value delivered");
        }

        public static long Hash(long h, ReadOnlySpan<byte> frame, in EventSlot s)
        {
            foreach (byte b in frame)
            {
                h = (h * 31) + b;
            }

            return (h * 1_000_003) + s.Timestamp + (long)s.Flags + s.Aux;
        }
    }
}
