using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using CsCheck;
using EventDaemon.Client;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Tests.Support;
using Xunit;

namespace EventDaemon.Events.Tests.Codecs;

public class BinaryFrameTests
{
    private const int Max = 4096;

    private static readonly Gen<string?> OptionalString = Gen.Select(
        Gen.Bool, Gen.String[Gen.Char.Where(c => !char.IsSurrogate(c)), 0, 40], (present, s) => present ? s : null);

    private static readonly Gen<(long? Ts, double? Value, string? Type, string? Key, byte[] Payload)> Events = Gen.Select(
        Gen.Long.Nullable(),
        Gen.Double.Where(double.IsFinite).Nullable(),
        OptionalString,
        OptionalString,
        Gen.Byte.Array[0, 200]);

    [Fact]
    public void ClientAndDecoder_AgreeOnLayoutConstants()
    {
        Assert.True(BinaryFrameWriter.HeaderSize == BinaryFrame.HeaderSize, "header sizes differ between client and decoder");
        Assert.True(BinaryFrameWriter.Version == BinaryFrame.Version1, "versions differ between client and decoder");
        Assert.True(BinaryFrameWriter.FlagHasTimestamp == BinaryFrame.FlagHasTimestamp && BinaryFrameWriter.FlagHasValue == BinaryFrame.FlagHasValue
            && BinaryFrameWriter.FlagHasType == BinaryFrame.FlagHasType && BinaryFrameWriter.FlagHasKey == BinaryFrame.FlagHasKey, "flag bits differ between client and decoder");
    }

    [Fact]
    public void ProtocolExample_DecodesAsDocumented()
    {
        byte[] frame = Convert.FromHexString("2100000001060000000000000000000000000000000008400500000000000000636c69636b");
        byte[] written = Encode(null, 3.0, "click", null, []);
        Assert.True(frame.AsSpan().SequenceEqual(written), $"writer output {Convert.ToHexString(written)} differs from the documented example");
    }

    [Fact]
    public void RoundTrip_ClientEncoderThenStreamingDecoder_PreservesEveryField()
    {
        Events.Sample(e =>
        {
            byte[] frame = Encode(e.Ts, e.Value, e.Type, e.Key, e.Payload);
            var decoder = new BinaryFrameDecoder(Max);
            var sink = new FrameCollector();
            FrameError error = decoder.Feed(frame, ref sink);
            Assert.True(error == FrameError.None && decoder.Complete() == FrameError.None, $"valid frame rejected: {error}");
            Assert.True(sink.Frames.Count == 1, $"one frame expected, got {sink.Frames.Count}");
            AssertFields(sink.Frames[0], e.Ts, e.Value, e.Type, e.Key, e.Payload);

            var slot = default(EventSlot);
            error = BinaryFrameDecoder.DecodeOne(frame, Max, ref slot, out int length, out InvalidReason invalid);
            Assert.True(error == FrameError.None && invalid == InvalidReason.None && length == frame.Length, $"DecodeOne: {error} {invalid} {length}");
            AssertFields(new DecodedFrame(frame, slot), e.Ts, e.Value, e.Type, e.Key, e.Payload);
        }, iter: 5_000);
    }

    [Fact]
    public void RoundTrip_ThroughBufferWriter_ProducesTheSameBytes()
    {
        var writer = new ArrayBufferWriter<byte>();
        int n = BinaryFrameWriter.Write(writer, new FrameEvent { Type = "t"u8, Key = "k"u8, Value = 1, Timestamp = 5, Payload = "p"u8 });
        byte[] direct = Encode(5, 1, "t", "k", "p"u8.ToArray());
        Assert.True(n == direct.Length && writer.WrittenSpan.SequenceEqual(direct), "IBufferWriter and Span overloads should write identical frames");
    }

    [Fact]
    public void Feed_ManyFramesSplitAtEveryPoint_DeliversAllInOrder()
    {
        byte[][] frames =
        [
            Encode(1, 1.5, "a", "k1", [1, 2, 3]),
            Encode(null, null, null, null, []),
            Encode(3, null, "", null, new byte[100]),
            Encode(null, -2, "ccc", "", [9]),
        ];
        byte[] stream = frames.SelectMany(f => f).ToArray();
        for (int split = 0; split <= stream.Length; split++)
        {
            var decoder = new BinaryFrameDecoder(Max);
            var sink = new FrameCollector();
            Assert.True(decoder.Feed(stream.AsSpan(0, split), ref sink) == FrameError.None, $"split {split}: first part rejected");
            Assert.True(decoder.Feed(stream.AsSpan(split), ref sink) == FrameError.None, $"split {split}: second part rejected");
            Assert.True(decoder.Complete() == FrameError.None, $"split {split}: stream should end on a frame boundary");
            Assert.True(sink.Frames.Count == frames.Length, $"split {split}: expected {frames.Length} frames, got {sink.Frames.Count}");
            for (int i = 0; i < frames.Length; i++)
            {
                Assert.True(sink.Frames[i].Bytes.AsSpan().SequenceEqual(frames[i]), $"split {split}: frame {i} bytes differ");
            }
        }
    }

    [Fact]
    public void Feed_OneByteAtATime_DeliversAllFrames()
    {
        byte[] stream = [.. Encode(1, 2, "x", "y", [1]), .. Encode(null, null, "z", null, new byte[40])];
        var decoder = new BinaryFrameDecoder(Max);
        var sink = new FrameCollector();
        foreach (byte b in stream)
        {
            Assert.True(decoder.Feed([b], ref sink) == FrameError.None, "byte-wise feed rejected a valid stream");
        }

        Assert.True(sink.Frames.Count == 2 && decoder.Complete() == FrameError.None, $"two frames expected, got {sink.Frames.Count}");
    }

    [Fact]
    public void Complete_AtEveryTruncationOfAValidFrame_ReportsTruncated()
    {
        byte[] frame = Encode(7, 8, "type", "key", [1, 2, 3, 4]);
        for (int length = 1; length < frame.Length; length++)
        {
            var decoder = new BinaryFrameDecoder(Max);
            var sink = new FrameCollector();
            Assert.True(decoder.Feed(frame.AsSpan(0, length), ref sink) == FrameError.None, $"prefix of {length} bytes is not an error yet");
            Assert.True(decoder.Complete() == FrameError.Truncated, $"end of stream after {length} bytes must be truncated");
            Assert.True(sink.Frames.Count == 0, $"no frame may be delivered from {length} bytes");

            var slot = default(EventSlot);
            Assert.True(BinaryFrameDecoder.DecodeOne(frame.AsSpan(0, length), Max, ref slot, out _, out _) == FrameError.Truncated, $"DecodeOne of {length} bytes must be truncated");
        }
    }

    [Fact]
    public void Feed_EverySingleByteCorruption_IsRejectedOrDecodedCleanly()
    {
        byte[] good = Encode(7, 8, "type", "key", [1, 2, 3, 4]);
        byte[] follower = Encode(1, 1, "next", null, []);
        byte[] replacements = [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF];
        for (int position = 0; position < good.Length; position++)
        {
            foreach (byte replacement in replacements.Append((byte)(good[position] ^ 0x01)))
            {
                if (replacement == good[position])
                {
                    continue;
                }

                byte[] stream = [.. good, .. follower];
                stream[position] = replacement;
                var decoder = new BinaryFrameDecoder(Max);
                var sink = new FrameCollector();
                FrameError error = decoder.Feed(stream, ref sink);
                if (error == FrameError.None)
                {
                    error = decoder.Complete();
                }

                string what = $"byte {position} set to 0x{replacement:X2}";
                if (position < 4 || position == 4 || position == 5 || position == 6 || position == 7 || (position >= 24 && position < 32))
                {
                    // Length, version, flags, reserved and the three lengths: always a framing error
                    // (a flag flip of has_ts/has_value with a non-zero field is inconsistent; a
                    // dropped flag bit with zero field cannot happen here: all fields are set).
                    Assert.True(error != FrameError.None, $"{what}: header corruption must be rejected");
                    Assert.True(decoder.Error == error, $"{what}: the error must be sticky");
                    Assert.True(decoder.Feed(follower, ref sink) == error, $"{what}: later reads must return the same error");
                }
                else
                {
                    // Field contents: the stream stays in sync, the follower always arrives.
                    Assert.True(error == FrameError.None, $"{what}: content corruption keeps the framing intact, got {error}");
                    Assert.True(sink.Frames.Count + sink.Invalid.Count == 2, $"{what}: two frames expected, got {sink.Frames.Count} + {sink.Invalid.Count} invalid");
                    Assert.True(sink.Frames[^1].Bytes.AsSpan().SequenceEqual(follower), $"{what}: the following frame must decode unchanged");
                }
            }
        }
    }

    [Theory]
    [InlineData(0, 27u, FrameError.BadLength)]
    [InlineData(0, 0u, FrameError.BadLength)]
    [InlineData(0, 4093u, FrameError.FrameTooLarge)]
    [InlineData(0, uint.MaxValue, FrameError.FrameTooLarge)]
    public void Feed_BadLengthPrefix_IsRejectedAsSoonAsItsFourBytesArrive(int unused, uint frameLength, FrameError expected)
    {
        _ = unused;
        var prefix = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(prefix, frameLength);
        var decoder = new BinaryFrameDecoder(Max);
        var sink = new FrameCollector();
        Assert.True(decoder.Feed(prefix, ref sink) == expected, $"length {frameLength}: expected {expected.Label()} before any more bytes");
    }

    [Fact]
    public void Feed_FrameOfExactlyMaxBytes_IsAccepted()
    {
        byte[] frame = Encode(null, null, null, null, new byte[Max - BinaryFrame.HeaderSize]);
        var decoder = new BinaryFrameDecoder(Max);
        var sink = new FrameCollector();
        Assert.True(decoder.Feed(frame, ref sink) == FrameError.None && sink.Frames.Count == 1, "a frame of exactly max_event_bytes must be accepted");
    }

    [Fact]
    public void Feed_AckRequested_IsAcceptedAndNotAnEventFlag()
    {
        byte[] plain = Encode(null, null, null, null, []);
        byte[] frame = (byte[])plain.Clone();
        frame[5] |= BinaryFrame.FlagAckRequested;
        var decoder = new BinaryFrameDecoder(Max);
        var sink = new FrameCollector();
        Assert.True(decoder.Feed(frame, ref sink) == FrameError.None && sink.Frames.Count == 1, "a frame with ack_requested must decode as an event");
        var plainSink = new FrameCollector();
        new BinaryFrameDecoder(Max).Feed(plain, ref plainSink);
        Assert.True(sink.Frames[0].Slot.Flags == plainSink.Frames[0].Slot.Flags, "ack_requested asks for acknowledgements; it must not change the event's flags");
    }

    public static TheoryData<string, Action<byte[]>, FrameError> HeaderViolations => new()
    {
        { "version 2", f => f[4] = 2, FrameError.UnsupportedVersion },
        { "version 0", f => f[4] = 0, FrameError.UnsupportedVersion },
        { "flag bit 5", f => f[5] |= 1 << 5, FrameError.ReservedBitsSet },
        { "flag bit 7", f => f[5] |= 1 << 7, FrameError.ReservedBitsSet },
        { "reserved u16", f => f[7] = 1, FrameError.ReservedBitsSet },
        { "payload_len + 1", f => f[28]++, FrameError.LengthMismatch },
        { "type_len - 1", f => f[24]--, FrameError.LengthMismatch },
        { "has_key cleared", f => f[5] &= unchecked((byte)~BinaryFrame.FlagHasKey), FrameError.InconsistentFlags },
        { "has_ts cleared", f => f[5] &= unchecked((byte)~BinaryFrame.FlagHasTimestamp), FrameError.InconsistentFlags },
        { "has_value cleared", f => f[5] &= unchecked((byte)~BinaryFrame.FlagHasValue), FrameError.InconsistentFlags },
    };

    [Theory]
    [MemberData(nameof(HeaderViolations))]
    public void Feed_HeaderViolation_ClosesTheStreamWithItsReason(string name, Action<byte[]> corrupt, FrameError expected)
    {
        byte[] before = Encode(1, 1, "ok", null, []);
        byte[] bad = Encode(7, 8, "type", "key", [1, 2, 3, 4]);
        corrupt(bad);
        var decoder = new BinaryFrameDecoder(Max);
        var sink = new FrameCollector();
        FrameError error = decoder.Feed([.. before, .. bad], ref sink);
        Assert.True(error == expected, $"{name}: expected {expected.Label()}, got {error.Label()}");
        Assert.True(sink.Frames.Count == 1, $"{name}: the frame before the bad one must have been delivered");

        var slot = default(EventSlot);
        Assert.True(BinaryFrameDecoder.DecodeOne(bad, Max, ref slot, out _, out _) == expected, $"{name}: DecodeOne should agree");
    }

    [Fact]
    public void Feed_NonFiniteValueOrInvalidUtf8_SkipsThatFrameAndContinues()
    {
        byte[] nan = Encode(null, 1, null, null, []);
        BinaryPrimitives.WriteDoubleLittleEndian(nan.AsSpan(16), double.NaN);
        byte[] badUtf8 = Encode(null, null, "ab", null, []);
        badUtf8[32] = 0xC3;
        byte[] splitSequence = Encode(null, null, "a", "b", []);
        splitSequence[32] = 0xC3;
        splitSequence[33] = 0xA9;
        byte[] good = Encode(null, 5, "fine", null, []);

        var decoder = new BinaryFrameDecoder(Max);
        var sink = new FrameCollector();
        FrameError error = decoder.Feed([.. nan, .. badUtf8, .. splitSequence, .. good], ref sink);

        Assert.True(error == FrameError.None, $"content errors must not close the stream, got {error}");
        Assert.True(sink.Invalid.SequenceEqual([InvalidReason.BadValue, InvalidReason.InvalidUtf8, InvalidReason.InvalidUtf8]), $"got [{string.Join(",", sink.Invalid)}]");
        Assert.True(sink.Frames.Count == 1 && sink.Frames[0].Slot.Value == 5, "the good frame after the bad ones must arrive");
    }

    [Fact]
    public void Reset_ClearsAStickyError()
    {
        var decoder = new BinaryFrameDecoder(Max);
        var sink = new FrameCollector();
        byte[] bad = Encode(null, null, null, null, []);
        bad[4] = 9;
        Assert.True(decoder.Feed(bad, ref sink) == FrameError.UnsupportedVersion, "version 9 must be rejected");
        decoder.Reset();
        Assert.True(decoder.Feed(Encode(null, null, null, null, []), ref sink) == FrameError.None && sink.Frames.Count == 1, "after Reset a new connection decodes normally");
    }

    [Fact]
    public void Writer_RejectsFieldsTheFormatCannotCarry()
    {
        var big = new byte[70_000];
        Assert.Throws<ArgumentException>(() => BinaryFrameWriter.TryWrite(new byte[80_000], new FrameEvent { Type = big }, out _));
        Assert.Throws<ArgumentException>(() => BinaryFrameWriter.TryWrite(new byte[100], new FrameEvent { Value = double.NaN }, out _));
        Assert.False(BinaryFrameWriter.TryWrite(new byte[31], new FrameEvent(), out _), "a 31-byte buffer cannot hold the 32-byte header");
    }

    internal static byte[] Encode(long? ts, double? value, string? type, string? key, byte[] payload)
    {
        byte[] typeBytes = type is null ? [] : Encoding.UTF8.GetBytes(type);
        byte[] keyBytes = key is null ? [] : Encoding.UTF8.GetBytes(key);
        var e = new FrameEvent
        {
            Timestamp = ts,
            Value = value,
            Type = typeBytes,
            Key = keyBytes,
            Payload = payload,
            HasType = type is not null,
            HasKey = key is not null,
        };
        var frame = new byte[BinaryFrameWriter.GetFrameLength(in e)];
        int n = BinaryFrameWriter.Write(frame, in e);
        Assert.True(n == frame.Length, "writer should fill exactly GetFrameLength bytes");
        return frame;
    }

    private static void AssertFields(DecodedFrame d, long? ts, double? value, string? type, string? key, byte[] payload)
    {
        EventSlot s = d.Slot;
        Assert.True(((s.Flags & EventFlags.HasTimestamp) != 0 ? s.Timestamp : (long?)null) == ts, $"ts: expected {ts}, got {s.Timestamp} flags {s.Flags}");
        Assert.True(((s.Flags & EventFlags.HasValue) != 0 ? s.Value : (double?)null).Equals(value), $"value: expected {value}, got {s.Value} flags {s.Flags}");
        string? gotType = (s.Flags & EventFlags.HasType) != 0 ? Encoding.UTF8.GetString(d.Bytes, s.TypeOffset, s.TypeLength) : null;
        string? gotKey = (s.Flags & EventFlags.HasKey) != 0 ? Encoding.UTF8.GetString(d.Bytes, s.KeyOffset, s.KeyLength) : null;
        Assert.True(gotType == type, $"type: expected '{type}', got '{gotType}'");
        Assert.True(gotKey == key, $"key: expected '{key}', got '{gotKey}'");
        Assert.True(BinaryFrame.Payload(d.Bytes, in s).SequenceEqual(payload), "payload bytes differ");
        Assert.True((s.Flags & (EventFlags.TypeEscaped | EventFlags.KeyEscaped)) == 0, "binary strings are never escaped");
    }
}
