using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text.Unicode;
using EventDaemon.Events.BadInput;

namespace EventDaemon.Events.Codecs;

/// <summary>
/// Decodes a stream of version-1 binary frames (PROTOCOL.md) arriving in reads cut at any point.
/// One instance per connection; its carry buffer grows with the longest cut frame, up to the limit.
/// </summary>
/// <remarks>
/// <para>Strict: the header is checked as soon as its bytes are in, before waiting for the rest of
/// the frame. A framing error is sticky: <see cref="Feed{TSink}"/> returns it now and on every later
/// call, and the caller closes the connection. Frames before the error have been delivered.</para>
/// <para>A frame wholly inside one read is decoded in place; only a frame cut by a read boundary is
/// copied, once, into the carry buffer.</para>
/// <para>Not thread-safe: one reader thread per connection.</para>
/// </remarks>
public sealed class BinaryFrameDecoder
{
    /// <summary>First size of the carry buffer: most frames cut across reads are short.</summary>
    private const int InitialCarryBytes = 256;

    // Grown on demand up to MaxFrameBytes: an idle connection's decoder then costs a few bytes.
    private byte[] _carry = [];
    private int _carryLength;

    // Total length of the frame being carried, known once its header was validated; 0 before.
    private int _expected;
    private FrameError _error;

    // Decoded fields of the frame being delivered. Not readonly: a mutable struct filled in place.
    private EventSlot _decoded;

    public BinaryFrameDecoder(int maxFrameBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFrameBytes, BinaryFrame.HeaderSize);
        MaxFrameBytes = maxFrameBytes;
    }

    /// <summary>Largest whole frame accepted, length prefix included (the source's <c>max_event_bytes</c>).</summary>
    public int MaxFrameBytes { get; }

    /// <summary>The sticky framing error, or <see cref="FrameError.None"/>.</summary>
    public FrameError Error => _error;

    /// <summary>Bytes of an unfinished frame held from earlier reads.</summary>
    public int PendingBytes => _carryLength;

    /// <summary>Feeds one read; delivers every frame it completes. Returns the framing error, if any.</summary>
    public FrameError Feed<TSink>(ReadOnlySpan<byte> chunk, ref TSink sink)
        where TSink : struct, IFrameSink, allows ref struct
    {
        if (_error != FrameError.None)
        {
            return _error;
        }

        if (_carryLength > 0)
        {
            FrameError carried = FeedCarried(ref chunk, ref sink);
            if (carried != FrameError.None || chunk.IsEmpty)
            {
                return carried;
            }
        }

        while (chunk.Length >= BinaryFrame.HeaderSize)
        {
            FrameError error = ValidateHeader(chunk, MaxFrameBytes, out int total);
            if (error != FrameError.None)
            {
                return Fail(error);
            }

            if (chunk.Length < total)
            {
                _expected = total;
                break;
            }

            Deliver(chunk[..total], ref sink);
            chunk = chunk[total..];
        }

        if (chunk.IsEmpty)
        {
            return FrameError.None;
        }

        if (chunk.Length >= 4 && _expected == 0)
        {
            FrameError error = ValidateLength(chunk, MaxFrameBytes, out _);
            if (error != FrameError.None)
            {
                return Fail(error);
            }
        }

        EnsureCarry(Math.Max(chunk.Length, BinaryFrame.HeaderSize));
        chunk.CopyTo(_carry);
        _carryLength = chunk.Length;
        return FrameError.None;
    }

    private void EnsureCarry(int bytes)
    {
        if (bytes > _carry.Length)
        {
            var grown = new byte[Math.Min(MaxFrameBytes, Math.Max(bytes, Math.Max(InitialCarryBytes, _carry.Length * 2)))];
            _carry.AsSpan(0, _carryLength).CopyTo(grown);
            _carry = grown;
        }
    }

    /// <summary>End of stream: <see cref="FrameError.Truncated"/> if a frame was left unfinished.</summary>
    public FrameError Complete()
    {
        if (_error == FrameError.None && _carryLength > 0)
        {
            return Fail(FrameError.Truncated);
        }

        return _error;
    }

    /// <summary>Forgets all state, so the instance can serve a new connection.</summary>
    public void Reset()
    {
        _carryLength = 0;
        _expected = 0;
        _error = FrameError.None;
    }

    /// <summary>
    /// Decodes the first frame of <paramref name="buffer"/> (e.g. one of the frames of a datagram).
    /// On <see cref="FrameError.None"/>, <paramref name="frameLength"/> is its total length and either
    /// <paramref name="invalid"/> is <see cref="InvalidReason.None"/> and <paramref name="slot"/> holds
    /// its fields, or <paramref name="invalid"/> says why its content is unusable.
    /// </summary>
    public static FrameError DecodeOne(ReadOnlySpan<byte> buffer, int maxFrameBytes, ref EventSlot slot, out int frameLength, out InvalidReason invalid)
    {
        invalid = InvalidReason.None;
        frameLength = 0;
        if (buffer.Length < 4)
        {
            return FrameError.Truncated;
        }

        FrameError error = ValidateLength(buffer, maxFrameBytes, out int total);
        if (error != FrameError.None)
        {
            return error;
        }

        if (buffer.Length < BinaryFrame.HeaderSize)
        {
            return FrameError.Truncated;
        }

        error = ValidateHeader(buffer, maxFrameBytes, out total);
        if (error != FrameError.None)
        {
            return error;
        }

        if (buffer.Length < total)
        {
            return FrameError.Truncated;
        }

        frameLength = total;
        invalid = DecodeFields(buffer[..total], ref slot);
        return FrameError.None;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private FrameError FeedCarried<TSink>(ref ReadOnlySpan<byte> chunk, ref TSink sink)
        where TSink : struct, IFrameSink, allows ref struct
    {
        if (_carryLength < BinaryFrame.HeaderSize)
        {
            int take = Math.Min(BinaryFrame.HeaderSize - _carryLength, chunk.Length);
            EnsureCarry(BinaryFrame.HeaderSize);
            chunk[..take].CopyTo(_carry.AsSpan(_carryLength));
            _carryLength += take;
            chunk = chunk[take..];
            if (_carryLength >= 4)
            {
                FrameError lengthError = ValidateLength(_carry, MaxFrameBytes, out _);
                if (lengthError != FrameError.None)
                {
                    return Fail(lengthError);
                }
            }

            if (_carryLength < BinaryFrame.HeaderSize)
            {
                return FrameError.None;
            }

            FrameError headerError = ValidateHeader(_carry, MaxFrameBytes, out _expected);
            if (headerError != FrameError.None)
            {
                return Fail(headerError);
            }
        }

        int need = Math.Min(_expected - _carryLength, chunk.Length);
        EnsureCarry(_expected);
        chunk[..need].CopyTo(_carry.AsSpan(_carryLength));
        _carryLength += need;
        chunk = chunk[need..];
        if (_carryLength < _expected)
        {
            return FrameError.None;
        }

        int total = _expected;
        _carryLength = 0;
        _expected = 0;
        Deliver(_carry.AsSpan(0, total), ref sink);
        return FrameError.None;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Deliver<TSink>(ReadOnlySpan<byte> frame, ref TSink sink)
        where TSink : struct, IFrameSink, allows ref struct
    {
        _expected = 0;
        InvalidReason invalid = DecodeFields(frame, ref _decoded);
        if (invalid == InvalidReason.None)
        {
            sink.OnFrame(frame, in _decoded);
        }
        else
        {
            sink.OnInvalid(frame, invalid);
        }
    }

    private FrameError Fail(FrameError error)
    {
        _error = error;
        _carryLength = 0;
        _expected = 0;
        return error;
    }

    private static FrameError ValidateLength(ReadOnlySpan<byte> header, int maxFrameBytes, out int total)
    {
        uint frameLength = BinaryPrimitives.ReadUInt32LittleEndian(header);
        total = 0;
        if (frameLength < BinaryFrame.MinFrameLength)
        {
            return FrameError.BadLength;
        }

        if (frameLength > (uint)(maxFrameBytes - 4))
        {
            return FrameError.FrameTooLarge;
        }

        total = (int)frameLength + 4;
        return FrameError.None;
    }

    /// <summary>Checks the 32-byte header; <paramref name="total"/> is the whole frame's length.</summary>
    private static FrameError ValidateHeader(ReadOnlySpan<byte> header, int maxFrameBytes, out int total)
    {
        FrameError error = ValidateLength(header, maxFrameBytes, out total);
        if (error != FrameError.None)
        {
            return error;
        }

        if (header[BinaryFrame.OffsetVersion] != BinaryFrame.Version1)
        {
            return FrameError.UnsupportedVersion;
        }

        byte flags = header[BinaryFrame.OffsetFlags];
        if ((flags & ~BinaryFrame.KnownFlags) != 0 || BinaryPrimitives.ReadUInt16LittleEndian(header[BinaryFrame.OffsetReserved..]) != 0)
        {
            return FrameError.ReservedBitsSet;
        }

        int typeLength = BinaryPrimitives.ReadUInt16LittleEndian(header[BinaryFrame.OffsetTypeLength..]);
        int keyLength = BinaryPrimitives.ReadUInt16LittleEndian(header[BinaryFrame.OffsetKeyLength..]);
        uint payloadLength = BinaryPrimitives.ReadUInt32LittleEndian(header[BinaryFrame.OffsetPayloadLength..]);
        if ((ulong)BinaryFrame.HeaderSize + (ulong)typeLength + (ulong)keyLength + payloadLength != (ulong)total)
        {
            return FrameError.LengthMismatch;
        }

        if (((flags & BinaryFrame.FlagHasTimestamp) == 0 && BinaryPrimitives.ReadInt64LittleEndian(header[BinaryFrame.OffsetTimestamp..]) != 0)
            || ((flags & BinaryFrame.FlagHasValue) == 0 && BinaryPrimitives.ReadInt64LittleEndian(header[BinaryFrame.OffsetValue..]) != 0)
            || ((flags & BinaryFrame.FlagHasType) == 0 && typeLength != 0)
            || ((flags & BinaryFrame.FlagHasKey) == 0 && keyLength != 0))
        {
            return FrameError.InconsistentFlags;
        }

        return FrameError.None;
    }

    /// <summary>Fills <paramref name="slot"/> from a frame whose header is valid; returns a content problem, if any.</summary>
    private static InvalidReason DecodeFields(ReadOnlySpan<byte> frame, ref EventSlot slot)
    {
        byte flags = frame[BinaryFrame.OffsetFlags];
        int typeLength = BinaryPrimitives.ReadUInt16LittleEndian(frame[BinaryFrame.OffsetTypeLength..]);
        int keyLength = BinaryPrimitives.ReadUInt16LittleEndian(frame[BinaryFrame.OffsetKeyLength..]);
        int keyOffset = BinaryFrame.HeaderSize + typeLength;
        int payloadOffset = keyOffset + keyLength;
        double value = BinaryPrimitives.ReadDoubleLittleEndian(frame[BinaryFrame.OffsetValue..]);

        if ((flags & BinaryFrame.FlagHasValue) != 0 && !double.IsFinite(value))
        {
            return InvalidReason.BadValue;
        }

        // type and key are checked apart: a sequence split across their boundary is invalid in both.
        if (!Utf8.IsValid(frame.Slice(BinaryFrame.HeaderSize, typeLength)) || !Utf8.IsValid(frame.Slice(keyOffset, keyLength)))
        {
            return InvalidReason.InvalidUtf8;
        }

        EventFlags eventFlags = EventFlags.Binary;
        if ((flags & BinaryFrame.FlagHasTimestamp) != 0)
        {
            eventFlags |= EventFlags.HasTimestamp;
        }

        if ((flags & BinaryFrame.FlagHasValue) != 0)
        {
            eventFlags |= EventFlags.HasValue;
        }

        if ((flags & BinaryFrame.FlagHasType) != 0)
        {
            eventFlags |= EventFlags.HasType;
        }

        if ((flags & BinaryFrame.FlagHasKey) != 0)
        {
            eventFlags |= EventFlags.HasKey;
        }

        slot.Flags = eventFlags;
        slot.Timestamp = BinaryPrimitives.ReadInt64LittleEndian(frame[BinaryFrame.OffsetTimestamp..]);
        slot.Value = value;
        slot.TypeOffset = BinaryFrame.HeaderSize;
        slot.TypeLength = (ushort)typeLength;
        slot.KeyOffset = keyOffset;
        slot.KeyLength = (ushort)keyLength;
        slot.PayloadLength = frame.Length;
        slot.Aux = payloadOffset;
        return InvalidReason.None;
    }
}
