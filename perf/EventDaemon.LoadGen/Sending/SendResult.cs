namespace EventDaemon.LoadGen.Sending;

/// <summary>What a run sent.</summary>
internal sealed record SendResult(long Events, long Bytes, long StartNs, long EndNs, long MaxLagNs, long Errors)
{
    public double Seconds => (EndNs - StartNs) / 1e9;

    public double EventsPerSecond => Events / Math.Max(Seconds, 1e-9);

    public double MegabytesPerSecond => Bytes / 1e6 / Math.Max(Seconds, 1e-9);
}
