using EventDaemon.LoadGen.Generation;

namespace EventDaemon.LoadGen.Sending;

/// <summary>One run of the sender.</summary>
internal sealed class SendPlan
{
    public required Target Target { get; init; }

    public required EventPool Pool { get; init; }

    public int Connections { get; init; } = 1;

    /// <summary>Events per second over all connections; 0 = as fast as the receiver takes them.</summary>
    public double Rate { get; init; }

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Monotonic ns at which the schedule starts; 0 = 1 ms after <see cref="LoadSender.Run"/> is called.</summary>
    public long StartNs { get; init; }

    /// <summary>Bytes per socket write when sending flat out (at a fixed rate a write carries what is due).</summary>
    public int BatchBytes { get; init; } = 64 * 1024;

    /// <summary>Binary frames with <c>ack_requested</c>, sent through <c>EventClient</c> with acks on;
    /// the result carries the ack latency.</summary>
    public bool Acks { get; init; }

    /// <summary>
    /// With acks at a fixed rate, how the sender paces its writes. 0: frame by frame, as due (it
    /// sleeps to each frame's due time, writes that frame alone, and reads the acks that arrived
    /// after each write; at 100k/s a wake every 10 µs). N &gt; 0: a write every N ns carrying the
    /// frames that fell due since the last, and between writes the thread waits on the socket
    /// (<c>ppoll</c>) and reads each ack as it arrives.
    /// </summary>
    public long AckPaceNs { get; init; }

    /// <summary>Seconds after the start whose frames' ack latency is not recorded.</summary>
    public double WarmupSeconds { get; init; }
}
