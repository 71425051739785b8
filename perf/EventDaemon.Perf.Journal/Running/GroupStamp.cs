namespace EventDaemon.Perf.Journal.Running;

/// <summary>What the writer tells the syncer about one group it has written.</summary>
internal struct GroupStamp
{
    /// <summary>Segment offset just past the group.</summary>
    public long End;

    public long FirstSequence;

    public long WriteTimeNs;

    public int Count;
}
