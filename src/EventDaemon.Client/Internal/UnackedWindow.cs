using System.Numerics;

namespace EventDaemon.Client.Internal;

/// <summary>
/// The frames an acknowledged client has appended and the daemon has not yet settled, in order,
/// in one buffer allocated once: they are both the batch still to write and what a reconnect
/// writes again. Bounded in bytes and in frames; full means the sender waits for acks.
/// </summary>
/// <remarks>
/// Positions are offsets in the client's stream of appended bytes (they only grow); the buffer
/// holds <c>[_basePos, _basePos + buffer length)</c>, and settled bytes at its front are reclaimed
/// by moving the rest down when an append would not fit (amortised: each byte moves at most once
/// per buffer length appended).
/// </remarks>
internal sealed class UnackedWindow
{
    private readonly byte[] _bytes;
    private readonly Record[] _records;
    private readonly int _recordMask;

    private long _basePos;

    /// <summary>Start of the oldest unsettled frame.</summary>
    private long _headPos;

    /// <summary>End of the newest frame.</summary>
    private long _tailPos;

    /// <summary>Bytes up to here were written on the current connection.</summary>
    private long _sentPos;

    /// <summary>Client-wide index of the oldest unsettled frame, and one past the newest.</summary>
    private long _headFrame;
    private long _tailFrame;

    /// <summary>Index of the first frame written on the current connection: the daemon's totals count from it.</summary>
    private long _connectionFirstFrame;

    public UnackedWindow(int maxBytes, int maxFrames)
    {
        _bytes = new byte[maxBytes];
        _records = new Record[BitOperations.RoundUpToPowerOf2((uint)maxFrames)];
        _recordMask = _records.Length - 1;
        MaxFrames = maxFrames;
    }

    public int MaxFrames { get; }

    public int Count => (int)(_tailFrame - _headFrame);

    public bool IsEmpty => _tailFrame == _headFrame;

    /// <summary>Bytes appended and not yet written on this connection.</summary>
    public int UnsentBytes => (int)(_tailPos - _sentPos);

    public ReadOnlySpan<byte> Unsent => _bytes.AsSpan((int)(_sentPos - _basePos), UnsentBytes);

    public int Capacity => _bytes.Length;

    /// <summary>Room for a frame of <paramref name="length"/> bytes, or empty when the window is
    /// full (of frames not settled yet, or written but not acknowledged).</summary>
    public Span<byte> TryReserve(int length)
    {
        if (Count == MaxFrames)
        {
            return default;
        }

        if (_tailPos + length - _basePos > _bytes.Length && _headPos > _basePos)
        {
            int live = (int)(_tailPos - _headPos);
            _bytes.AsSpan((int)(_headPos - _basePos), live).CopyTo(_bytes);
            _basePos = _headPos;
        }

        if (_tailPos + length - _basePos > _bytes.Length)
        {
            return default;
        }

        return _bytes.AsSpan((int)(_tailPos - _basePos), length);
    }

    public void Commit(int length, long timestamp)
    {
        _tailPos += length;
        _records[_tailFrame & _recordMask] = new Record(_tailPos, timestamp);
        _tailFrame++;
    }

    public void MarkSent(int bytes) => _sentPos += bytes;

    /// <summary>The daemon settled the first <paramref name="settledOnConnection"/> frames of this
    /// connection: forgets them, telling <paramref name="observer"/> when each was appended.</summary>
    /// <returns>Frames newly settled.</returns>
    public long Settle(long settledOnConnection, IAckObserver? observer, long now)
    {
        long target = Math.Min(_connectionFirstFrame + settledOnConnection, _tailFrame);
        long settled = 0;
        while (_headFrame < target)
        {
            ref Record record = ref _records[_headFrame & _recordMask];
            _headPos = record.End;
            observer?.OnAcknowledged(record.Timestamp, now);
            _headFrame++;
            settled++;
        }

        return settled;
    }

    /// <summary>A new connection: every unsettled frame is written again, first, and the daemon's
    /// totals count from the oldest of them. Returns how many frames that is.</summary>
    public int Rewind()
    {
        _connectionFirstFrame = _headFrame;
        _sentPos = _headPos;
        return Count;
    }

    private readonly record struct Record(long End, long Timestamp);
}
