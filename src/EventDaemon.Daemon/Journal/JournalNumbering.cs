namespace EventDaemon.Daemon.Journal;

/// <summary>
/// How this run's ring sequences meet the journal's: ring sequences below <see cref="FirstLive"/>
/// were replayed from the journal (already in it); live ring sequence <c>r</c> is journal sequence
/// <see cref="LiveBase"/> + <c>r</c>.
/// </summary>
/// <remarks>Set once by the replay before it publishes its first event (the ring's publication makes
/// the values visible to the stages), read-only after.</remarks>
internal sealed class JournalNumbering(long liveBase)
{
    public long LiveBase = liveBase;

    public long FirstLive;
}
