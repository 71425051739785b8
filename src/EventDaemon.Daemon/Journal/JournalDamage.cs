namespace EventDaemon.Daemon.Journal;

/// <summary>Bytes of a segment that are not intact records: where, how many, and what was wrong.</summary>
public readonly record struct JournalDamage(string Segment, long Offset, long Bytes, string What)
{
    public override string ToString() => $"{System.IO.Path.GetFileName(Segment)} at offset {Offset}: {What} ({Bytes} bytes)";
}
