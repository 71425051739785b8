namespace EventDaemon.Events.BadInput;

/// <summary>One bad-input record as read back from <see cref="BadInputLog"/> (a copy; the log keeps going).</summary>
public sealed class BadInputRecord
{
    internal BadInputRecord(long sequence, long unixNanos, ushort sourceId, InvalidReason reason, FrameError frameError, int inputLength, byte[] excerpt)
    {
        Sequence = sequence;
        UnixNanos = unixNanos;
        SourceId = sourceId;
        Reason = reason;
        FrameError = frameError;
        InputLength = inputLength;
        Excerpt = excerpt;
    }

    /// <summary>1 for the first record the log ever took; gaps between records read mean overwritten ones.</summary>
    public long Sequence { get; }

    /// <summary>Wall-clock time of the record, Unix nanoseconds.</summary>
    public long UnixNanos { get; }

    public ushort SourceId { get; }

    /// <summary>Why the event was skipped, or <see cref="InvalidReason.None"/> for a framing error.</summary>
    public InvalidReason Reason { get; }

    /// <summary>The framing error that closed a binary connection, or <see cref="BadInput.FrameError.None"/>.</summary>
    public FrameError FrameError { get; }

    /// <summary>The reason's stable label: <see cref="InvalidReasons.Label"/> or <see cref="FrameErrors.Label"/>.</summary>
    public string Label => FrameError != FrameError.None ? FrameError.Label() : Reason.Label();

    /// <summary>Length of the whole offending input (the excerpt is at most <see cref="BadInputLog.ExcerptBytes"/> of it).</summary>
    public int InputLength { get; }

    public byte[] Excerpt { get; }
}
