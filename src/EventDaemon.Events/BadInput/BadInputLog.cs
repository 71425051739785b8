using System.Text;

namespace EventDaemon.Events.BadInput;

/// <summary>
/// The last N bad-input records (time, source, reason, first bytes of the input) for <c>ctl errors</c>.
/// </summary>
/// <remarks>
/// Written by source threads only when input is bad, so a lock is fine here: it is never taken for
/// good input. All storage, excerpts included, is allocated in the constructor; writing copies at
/// most <see cref="ExcerptBytes"/> bytes and formats nothing. Reading (cold) copies and formats.
/// </remarks>
public sealed class BadInputLog
{
    public const int DefaultCapacity = 64;

    /// <summary>Bytes of the offending input kept per record: enough to recognise the event, bounded so the log stays small.</summary>
    public const int ExcerptBytes = 64;

    private readonly Lock _lock = new();
    private readonly Entry[] _entries;
    private readonly byte[] _excerpts;
    private long _written;

    public BadInputLog(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _entries = new Entry[capacity];
        _excerpts = new byte[capacity * ExcerptBytes];
    }

    public int Capacity => _entries.Length;

    /// <summary>Records written since start (including those since overwritten).</summary>
    public long TotalRecorded
    {
        get
        {
            lock (_lock)
            {
                return _written;
            }
        }
    }

    /// <summary>Records an event skipped for <paramref name="reason"/>; <paramref name="input"/> is the offending bytes (may be empty).</summary>
    public void Record(long unixNanos, ushort sourceId, InvalidReason reason, ReadOnlySpan<byte> input) =>
        Write(unixNanos, sourceId, reason, FrameError.None, input);

    /// <summary>Records a binary connection closed for <paramref name="error"/>; <paramref name="input"/> is the bytes at the failure, if known.</summary>
    public void RecordFrameError(long unixNanos, ushort sourceId, FrameError error, ReadOnlySpan<byte> input) =>
        Write(unixNanos, sourceId, InvalidReason.None, error, input);

    /// <summary>Copies the kept records, oldest first.</summary>
    public BadInputRecord[] Snapshot()
    {
        lock (_lock)
        {
            int count = (int)Math.Min(_written, _entries.Length);
            var records = new BadInputRecord[count];
            long first = _written - count;
            for (int n = 0; n < count; n++)
            {
                int index = (int)((first + n) % _entries.Length);
                ref readonly Entry e = ref _entries[index];
                byte[] excerpt = _excerpts.AsSpan(index * ExcerptBytes, e.ExcerptLength).ToArray();
                records[n] = new BadInputRecord(first + n + 1, e.UnixNanos, e.SourceId, e.Reason, e.FrameError, e.InputLength, excerpt);
            }

            return records;
        }
    }

    /// <summary>
    /// Formats the kept records for <c>ctl errors</c>, oldest first, one per line:
    /// <c>2025-11-26T10:00:00.123Z source=in reason=not_json bytes=17 excerpt="{\"type\":"</c>.
    /// </summary>
    public string Format(Func<ushort, string> sourceName)
    {
        BadInputRecord[] records = Snapshot();
        var text = new StringBuilder();
        foreach (BadInputRecord r in records)
        {
            DateTime time = DateTime.UnixEpoch.AddTicks(r.UnixNanos / 100);
            text.Append(time.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture))
                .Append(" source=").Append(sourceName(r.SourceId))
                .Append(" reason=").Append(r.Label)
                .Append(" bytes=").Append(r.InputLength)
                .Append(" excerpt=\"");
            AppendEscaped(text, r.Excerpt);
            text.Append('"');
            if (r.InputLength > r.Excerpt.Length)
            {
                text.Append("...");
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Printable ASCII as is; quote and backslash escaped; every other byte as <c>\xNN</c>, so a record is one safe line.</summary>
    internal static void AppendEscaped(StringBuilder text, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            if (b == (byte)'"' || b == (byte)'\\')
            {
                text.Append('\\').Append((char)b);
            }
            else if (b is >= 0x20 and < 0x7F)
            {
                text.Append((char)b);
            }
            else
            {
                text.Append("\\x").Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }
    }

    private void Write(long unixNanos, ushort sourceId, InvalidReason reason, FrameError error, ReadOnlySpan<byte> input)
    {
        int excerptLength = Math.Min(input.Length, ExcerptBytes);
        lock (_lock)
        {
            int index = (int)(_written % _entries.Length);
            _entries[index] = new Entry
            {
                UnixNanos = unixNanos,
                SourceId = sourceId,
                Reason = reason,
                FrameError = error,
                InputLength = input.Length,
                ExcerptLength = excerptLength,
            };
            input[..excerptLength].CopyTo(_excerpts.AsSpan(index * ExcerptBytes, ExcerptBytes));
            _written++;
        }
    }

    private struct Entry
    {
        public long UnixNanos;
        public int InputLength;
        public int ExcerptLength;
        public ushort SourceId;
        public InvalidReason Reason;
        public FrameError FrameError;
    }
}
