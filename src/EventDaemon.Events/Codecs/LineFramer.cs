using System.Runtime.CompilerServices;

namespace EventDaemon.Events.Codecs;

/// <summary>
/// Splits a stream of socket reads into lines, reassembling lines cut at any point between reads.
/// One instance per connection; its carry buffer grows with the longest cut line, up to the limit.
/// </summary>
/// <remarks>
/// <para>Lines end with <c>\n</c>; a <c>\r</c> right before it is removed too. Empty lines are
/// ignored. A line whose content (without terminator) is longer than <see cref="MaxLineBytes"/> is
/// reported once through <see cref="ILineSink.OnOversized"/> and skipped up to the next newline;
/// the lines around it are delivered normally.</para>
/// <para>A line that lies wholly inside one read is passed to the sink straight from that read;
/// only a line cut by a read boundary is copied, once, into the carry buffer.</para>
/// <para>Not thread-safe: one reader thread per connection.</para>
/// </remarks>
public sealed class LineFramer
{
    /// <summary>First size of the carry buffer: most lines cut across reads are short.</summary>
    private const int InitialCarryBytes = 256;

    // Grown on demand up to max + 1 (a line of exactly MaxLineBytes followed by "\r" must still fit
    // while the "\n" is awaited): an idle connection's framer then costs a few bytes, not the limit.
    private readonly int _carryLimit;
    private byte[] _carry = [];
    private int _carryLength;

    // Discarding the rest of an oversized line until the next newline.
    private bool _skipping;

    public LineFramer(int maxLineBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 1);
        MaxLineBytes = maxLineBytes;
        _carryLimit = maxLineBytes + 1;
    }

    public int MaxLineBytes { get; }

    /// <summary>Bytes of an unfinished line held from earlier reads.</summary>
    public int PendingBytes => _carryLength;

    /// <summary>Feeds one read. Every line completed by it is delivered before this returns.</summary>
    public void Feed<TSink>(ReadOnlySpan<byte> chunk, ref TSink sink)
        where TSink : struct, ILineSink, allows ref struct
    {
        while (!chunk.IsEmpty)
        {
            int newline = chunk.IndexOf((byte)'\n');
            if (_skipping)
            {
                if (newline < 0)
                {
                    return;
                }

                _skipping = false;
                chunk = chunk[(newline + 1)..];
                continue;
            }

            if (newline < 0)
            {
                Carry(chunk, ref sink);
                return;
            }

            if (_carryLength == 0)
            {
                Deliver(chunk[..newline], ref sink);
            }
            else
            {
                CompleteCarried(chunk[..newline], ref sink);
            }

            chunk = chunk[(newline + 1)..];
        }
    }

    /// <summary>End of stream: delivers a final line that had no newline, then resets.</summary>
    public void Complete<TSink>(ref TSink sink)
        where TSink : struct, ILineSink, allows ref struct
    {
        if (!_skipping && _carryLength > 0)
        {
            Deliver(_carry.AsSpan(0, _carryLength), ref sink);
        }

        Reset();
    }

    /// <summary>Forgets any partial line, so the instance can serve a new connection.</summary>
    public void Reset()
    {
        _carryLength = 0;
        _skipping = false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Deliver<TSink>(ReadOnlySpan<byte> line, ref TSink sink)
        where TSink : struct, ILineSink, allows ref struct
    {
        if (!line.IsEmpty && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }

        if (line.Length > MaxLineBytes)
        {
            sink.OnOversized();
        }
        else if (!line.IsEmpty)
        {
            sink.OnLine(line);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CompleteCarried<TSink>(ReadOnlySpan<byte> tail, ref TSink sink)
        where TSink : struct, ILineSink, allows ref struct
    {
        int total = _carryLength + tail.Length;
        _carryLength = 0;
        if (total > _carryLimit)
        {
            sink.OnOversized();
            return;
        }

        EnsureCarry(total, keep: total - tail.Length);
        tail.CopyTo(_carry.AsSpan(total - tail.Length));
        Deliver(_carry.AsSpan(0, total), ref sink);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Carry<TSink>(ReadOnlySpan<byte> partial, ref TSink sink)
        where TSink : struct, ILineSink, allows ref struct
    {
        if (_carryLength + partial.Length > _carryLimit)
        {
            // Already too long whatever follows: report now and drop bytes until the newline.
            _carryLength = 0;
            _skipping = true;
            sink.OnOversized();
            return;
        }

        EnsureCarry(_carryLength + partial.Length, keep: _carryLength);
        partial.CopyTo(_carry.AsSpan(_carryLength));
        _carryLength += partial.Length;
    }

    /// <summary>Grows the carry to hold <paramref name="bytes"/>, keeping its first <paramref name="keep"/>.</summary>
    private void EnsureCarry(int bytes, int keep)
    {
        if (bytes > _carry.Length)
        {
            var grown = new byte[Math.Min(_carryLimit, Math.Max(bytes, Math.Max(InitialCarryBytes, _carry.Length * 2)))];
            _carry.AsSpan(0, keep).CopyTo(grown);
            _carry = grown;
        }
    }
}
