namespace EventDaemon.Client;

/// <summary>Told of each frame an acknowledged <see cref="EventClient"/> sees settled (load
/// generators measure ack latency with it). Called on the sending thread; must not block.</summary>
public interface IAckObserver
{
    /// <param name="appendedTimestamp"><see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> when
    /// the frame was appended (its first append: a frame resent after a reconnect keeps it).</param>
    /// <param name="ackedTimestamp">When the ack that settled it was read.</param>
    void OnAcknowledged(long appendedTimestamp, long ackedTimestamp);
}
