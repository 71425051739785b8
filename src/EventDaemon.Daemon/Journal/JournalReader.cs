using EventDaemon.Daemon.Journal.Internal;

namespace EventDaemon.Daemon.Journal;

/// <summary>
/// Reads the journal's records in sequence order across its segments, from a given sequence on,
/// skipping damage: a record whose CRC fails ends its group, a group header that fails is passed over
/// to the next intact one. Records lost that way are counted from the gap in sequences they leave
/// (the journal's sequences are consecutive by construction).
/// </summary>
public sealed class JournalReader : IDisposable
{
    private readonly IReadOnlyList<JournalSegment> _segments;
    private readonly long _from;
    private readonly List<JournalDamage> _damage = [];
    private int _next;
    private SegmentReader? _reader;
    private byte[] _group = [];
    private int _groupLength;
    private int _groupOffset;
    private int _groupLeft;
    private long _groupStart;
    private long _last;
    private bool _started;
    private bool _gapRepaired;

    // Within the current segment: the end of the last group read whole, and of the last bytes seen that were not.
    private long _goodEnd;
    private long _goodLast;
    private long _dirtyEnd;

    /// <param name="segments">The journal's segments in sequence order (<see cref="JournalState.Segments"/>).</param>
    /// <param name="fromSequence">The first sequence wanted; earlier records are read past.</param>
    public JournalReader(IReadOnlyList<JournalSegment> segments, long fromSequence)
    {
        _segments = segments;
        _from = fromSequence;
        _last = fromSequence - 1;
        // Start at the last segment that begins at or before the wanted sequence.
        while (_next + 1 < segments.Count && segments[_next + 1].FirstSequence <= fromSequence)
        {
            _next++;
        }
    }

    /// <summary>Damage met so far.</summary>
    public IReadOnlyList<JournalDamage> Damage => _damage;

    /// <summary>Records missing between the ones read (gaps in the sequences), so far.</summary>
    public long LostRecords { get; private set; }

    /// <summary>Records missing where a repair removed damage (counted by that repair), so far.</summary>
    public long RepairedGaps { get; private set; }

    /// <summary>The last sequence read; one before the wanted sequence until a record is read.</summary>
    public long LastSequence => _last;

    /// <summary>
    /// After the end: the last segment, the end of its last group read whole and that group's last
    /// sequence (-1 when none), and the end of any bytes after it which are not zero (a write torn by a
    /// power cut: never synced, so never acknowledged, even where some of its records read intact).
    /// </summary>
    public JournalTail? Tail { get; private set; }

    /// <summary>The next intact record; <paramref name="payload"/> is valid until the next call.</summary>
    public bool TryRead(out JournalEntry entry, out ReadOnlySpan<byte> payload)
    {
        while (true)
        {
            while (_groupLeft > 0)
            {
                ReadOnlySpan<byte> rest = _group.AsSpan(_groupOffset, _groupLength - _groupOffset);
                if (!JournalLayout.TryReadRecord(rest, out entry, out payload, out int size))
                {
                    // The rest of this group cannot be trusted: its lengths may be what is wrong.
                    _damage.Add(new JournalDamage(_reader!.Path, _groupStart + _groupOffset, rest.Length, $"a record fails its CRC; {_groupLeft} records of its group are skipped"));
                    _groupLeft = 0;
                    _dirtyEnd = _groupStart + _groupLength;
                    break;
                }

                _groupOffset += size;
                if (--_groupLeft == 0)
                {
                    _goodEnd = _groupStart + _groupLength;
                    _goodLast = entry.Sequence;
                }
                if (entry.Sequence < _from)
                {
                    continue;
                }

                if (_started && entry.Sequence > _last + 1)
                {
                    if (_gapRepaired)
                    {
                        RepairedGaps += entry.Sequence - _last - 1;
                    }
                    else
                    {
                        LostRecords += entry.Sequence - _last - 1;
                    }
                }

                _gapRepaired = false;

                _started = true;
                _last = entry.Sequence;
                return true;
            }

            if (!NextGroup())
            {
                entry = default;
                payload = default;
                return false;
            }
        }
    }

    private bool NextGroup()
    {
        while (true)
        {
            if (_reader is null)
            {
                if (_next >= _segments.Count)
                {
                    return false;
                }

                JournalSegment segment = _segments[_next++];
                _reader = SegmentReader.Open(segment.Path, out string? problem);
                if (_reader is null)
                {
                    _damage.Add(new JournalDamage(segment.Path, 0, 0, problem!));
                    continue;
                }

                _goodEnd = _dirtyEnd = JournalLayout.SegmentHeaderBytes;
                _goodLast = -1;
            }

            switch (_reader.Next(out GroupHeader header, out ReadOnlySpan<byte> records))
            {
                case GroupRead.Group:
                    if (_group.Length < records.Length)
                    {
                        _group = new byte[Math.Max(records.Length, 64 * 1024)];
                    }

                    records.CopyTo(_group);
                    _groupLength = records.Length;
                    _groupOffset = 0;
                    _groupLeft = header.Records;
                    _groupStart = _reader.Position - records.Length;
                    _gapRepaired = (header.Flags & JournalLayout.GroupAfterRepairedGap) != 0;
                    if (header.LastSequence < _from)
                    {
                        // Read past unchecked: what comes before the wanted sequence is not needed.
                        _groupLeft = 0;
                        _goodEnd = _reader.Position;
                        _goodLast = header.LastSequence;
                    }

                    return true;
                case GroupRead.Damaged:
                    long end = _reader.Position >= _reader.Limit ? _reader.DirtyEnd : _reader.Position;
                    _damage.Add(new JournalDamage(_reader.Path, _reader.DamageStart, end - _reader.DamageStart, "bytes that are not a group"));
                    _dirtyEnd = Math.Max(_dirtyEnd, end);
                    if (_reader.Position >= _reader.Limit)
                    {
                        Finish();
                    }

                    continue;
                default:
                    _dirtyEnd = Math.Max(_dirtyEnd, _reader.DirtyEnd);
                    Finish();
                    continue;
            }
        }
    }

    private void Finish()
    {
        Tail = new JournalTail(_reader!.Path, _goodEnd, _goodLast, Math.Max(_goodEnd, _dirtyEnd));
        _reader.Dispose();
        _reader = null;
    }

    public void Dispose() => _reader?.Dispose();
}

/// <summary>Where a segment's whole groups end, the last sequence in them, and where non-zero bytes end.</summary>
public readonly record struct JournalTail(string Segment, long End, long LastSequence, long DirtyEnd);
