using EventDaemon.Daemon.Journal;

namespace EventDaemon.Daemon.Config;

/// <summary>The <c>[journal]</c> table (SPEC §7), with every default filled in; absent table, no journal.</summary>
/// <param name="Directory">Absolute path of the journal's directory (<c>dir</c>, relative to <c>state_dir</c>).</param>
/// <param name="SegmentBytes">Size of every segment file, allocated and zeroed ahead of use.</param>
/// <param name="RetentionBytes">Segments every sink has passed are deleted while the journal holds more than this.</param>
/// <param name="Fsync">When journal writes become durable.</param>
/// <param name="WhenFull">What a full disk does to the journal.</param>
public sealed record JournalSettings(string Directory, ByteSize SegmentBytes, ByteSize RetentionBytes, JournalFsync Fsync, JournalWhenFull WhenFull)
{
    public const string DefaultDirectory = "journal";

    /// <summary>128 MiB: a segment is zeroed ahead of use in well under a second on a plain disk, and a
    /// busy daemon (a million 100-byte events a second) fills one about every second.</summary>
    public static ByteSize DefaultSegmentBytes => ByteSize.FromMiB(128);

    /// <summary>8 GiB: a minute and more of replay at a million 100-byte events a second, beyond any sink outage worth replaying.</summary>
    public static ByteSize DefaultRetentionBytes => new(8 * ByteSize.GiB);

    /// <summary>What the journal needs to open, for events up to <paramref name="maxEventBytes"/>.</summary>
    public JournalOptions Options(int maxEventBytes) => new(Directory, SegmentBytes.Bytes, Fsync, maxEventBytes);
}

/// <summary>What a full disk does to the journal (SPEC §7, <c>when_full</c>).</summary>
public enum JournalWhenFull
{
    /// <summary>The journal waits at the end of its segment: backpressure to the ring and the sources.</summary>
    Block,

    /// <summary>The oldest segment is deleted even though a sink has not passed it; its records are counted lost.</summary>
    DropOldest,
}
