namespace EventDaemon.Events.Codecs;

/// <summary>
/// Receives what <see cref="LineFramer"/> cuts out of a byte stream. Implement it on a struct and
/// pass it by reference so the framer's calls are devirtualised and inlined.
/// </summary>
public interface ILineSink
{
    /// <summary>
    /// One complete non-empty line without its <c>\n</c> or <c>\r\n</c>. The span is only valid
    /// during the call (it points into the caller's read buffer or the framer's carry buffer): copy
    /// what must outlive it. The call may block, e.g. while the ring is full; the framer simply
    /// resumes when it returns, which is how a stream source exerts backpressure on its socket.
    /// </summary>
    void OnLine(ReadOnlySpan<byte> line);

    /// <summary>A line longer than the framer's limit was skipped (called once per such line).</summary>
    void OnOversized();
}
