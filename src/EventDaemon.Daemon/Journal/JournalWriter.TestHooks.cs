namespace EventDaemon.Daemon.Journal;

public sealed partial class JournalWriter
{
    private const int EIo = 5;

    // Writes still to fail (tests only): a disk that refuses them, without filling one.
    private int _failWrites;

    /// <summary>Makes the next <paramref name="writes"/> group writes fail with EIO, as a failing disk would. Appending thread only.</summary>
    internal void FailNextWritesForTest(int writes) => _failWrites = writes;

    private int FailedWrite()
    {
        _failWrites--;
        return EIo;
    }
}
