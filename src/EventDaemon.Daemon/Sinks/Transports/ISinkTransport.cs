namespace EventDaemon.Daemon.Sinks.Transports;

/// <summary>
/// Moves one batch of formatted output (whole JSON lines, each ending in <c>\n</c>) to a sink's
/// destination with one write per batch.
/// </summary>
/// <remarks>
/// <para>
/// Implemented by structs: the sink stage is generic over the transport so the AOT compiler
/// devirtualises and inlines the calls. The structs hold a reference to a private state class, so a
/// copy of a transport is the same transport.
/// </para>
/// <para>
/// Not thread-safe: <see cref="Open"/>, <see cref="TryWrite"/>, <see cref="Tick"/> and
/// <see cref="Close"/> are called by the sink's one thread. Properties that report counters may be
/// read from any thread.
/// </para>
/// </remarks>
public interface ISinkTransport
{
    /// <summary>What and where, for <c>info</c> and <c>health</c>: <c>file /var/lib/eventd/out.jsonl</c>.</summary>
    string Describe();

    /// <summary>
    /// Whether a write now would go straight to the destination, without first connecting (which may
    /// take seconds). Under idle hand-off a sink does not start such a write on a source's thread.
    /// </summary>
    bool IsReady { get; }

    /// <summary>
    /// The last <see cref="TryWrite"/> returned <c>false</c> because the destination is alive but has
    /// not taken the whole batch yet (backpressure), not because it failed: the transport keeps what
    /// it wrote, the caller offers the same batch again, and nothing is counted as an error.
    /// </summary>
    bool IsBlocked { get; }

    /// <summary>
    /// The transport's clock's timestamp since which the destination has taken no byte of the batch
    /// being written; 0 while it is not <see cref="IsBlocked"/>.
    /// </summary>
    long BlockedSince { get; }

    /// <summary>Events written a second time after a reconnect, since the transport was made (see each transport for which).</summary>
    long ResentEvents { get; }

    /// <summary>Prepares the destination. Cold path; throws with a message naming the problem (an unwritable path).</summary>
    void Open();

    /// <summary>
    /// Writes all of <paramref name="batch"/>, or nothing that the caller has to account for, and
    /// returns <c>false</c> with a short reason (or none, when <see cref="IsBlocked"/>). The caller
    /// keeps the batch and offers it again later, so a failure loses nothing and memory stays bounded
    /// by the caller's buffer. The caller neither changes nor extends a refused batch: it offers it
    /// again until it is written, or calls <see cref="GiveUp"/>.
    /// </summary>
    /// <remarks>Never throws for I/O errors; allocates nothing when it succeeds.</remarks>
    bool TryWrite(ReadOnlySpan<byte> batch, out string? error);

    /// <summary>
    /// The caller gives up the batch the last <see cref="TryWrite"/> refused (a drain timed out, a
    /// reload replaces the sink): a transport holding part of it lets it go, so the next batch
    /// starts clean. Cold path.
    /// </summary>
    void GiveUp();

    /// <summary>
    /// Called about every 100 ms, also while idle, with <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>
    /// (or the clock the transport was given): periodic <c>fsync</c>, reconnecting, noticing a peer that left.
    /// </summary>
    void Tick(long nowTimestamp);

    /// <summary>Flushes, syncs as the policy asks, and releases the destination. Does not throw for I/O errors.</summary>
    void Close();
}
