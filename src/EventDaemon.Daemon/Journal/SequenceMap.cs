namespace EventDaemon.Daemon.Journal;

/// <summary>
/// Which journal sequence each ring sequence of this run carries. The ring numbers events from 0 at
/// every start; the journal numbers them across runs. Replayed events keep the sequences they were
/// journaled with (with gaps where damage lost records); live events continue after the last one.
/// The map is a short list of runs, one per gap, so a lookup is cheap.
/// </summary>
/// <remarks>Built before the ring's consumers start, read-only after.</remarks>
public sealed class SequenceMap
{
    private readonly List<(long Ring, long Journal)> _runs = [];

    /// <summary>Ring sequences below this were replayed from the journal; those from here on are live.</summary>
    public long ReplayedCount { get; private set; }

    /// <summary>Records that ring sequence <paramref name="ring"/> carries journal sequence <paramref name="journal"/>, and the ones after it follow on.</summary>
    internal void Start(long ring, long journal)
    {
        if (_runs.Count > 0 && _runs[^1].Ring == ring)
        {
            _runs[^1] = (ring, journal);
            return;
        }

        if (_runs.Count > 0 && _runs[^1].Journal + (ring - _runs[^1].Ring) == journal)
        {
            return;
        }

        _runs.Add((ring, journal));
    }

    /// <summary>Ends the replay: live events start at ring sequence <paramref name="ring"/> with journal sequence <paramref name="journal"/>.</summary>
    internal void StartLive(long ring, long journal)
    {
        ReplayedCount = ring;
        Start(ring, journal);
    }

    /// <summary>The journal sequence of ring sequence <paramref name="ring"/>.</summary>
    public long JournalOf(long ring)
    {
        int low = 0;
        int high = _runs.Count - 1;
        while (low < high)
        {
            int mid = (low + high + 1) / 2;
            if (_runs[mid].Ring <= ring)
            {
                low = mid;
            }
            else
            {
                high = mid - 1;
            }
        }

        (long r, long j) = _runs[low];
        return j + (ring - r);
    }

    /// <summary>The journal sequence live ring sequence 0 would carry: what the journal stage adds to ring sequences.</summary>
    public long LiveBase => _runs.Count == 0 ? 0 : _runs[^1].Journal - _runs[^1].Ring;
}
