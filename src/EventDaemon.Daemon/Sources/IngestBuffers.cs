using EventDaemon.Events;
using EventDaemon.Events.Fields;

namespace EventDaemon.Daemon.Sources;

/// <summary>
/// One read buffer and the stage of events decoded from it, waiting for their turn at the ring.
/// An I/O thread holds one and lends it to each connection it reads in turn (the stage is empty
/// again when a read has been appended); a connection paused by a full ring keeps the one its read
/// is in, until the ring takes the rest, and the thread takes another from the source's pool.
/// </summary>
/// <remarks>
/// About 170 KiB at the defaults (64 KiB read, 64 KiB carried copy, 512 staged slots and rows): the
/// reason it lives per thread and per paused connection, never per open connection.
/// </remarks>
internal sealed class IngestBuffers
{
    /// <summary>Events staged before a turn at the ring is forced: bounds the stage.</summary>
    public const int StageCapacity = 512;

    public IngestBuffers(int readBytes, int maxEventBytes)
    {
        // Pinned for its whole life: recv writes into it through a pointer on every read.
        Read = GC.AllocateUninitializedArray<byte>(readBytes, pinned: true);
        Carried = new byte[maxEventBytes + 16];
    }

    /// <summary>Where reads land.</summary>
    public byte[] Read { get; }

    /// <summary>Staged events' fields (their PayloadPosition is not used until the ring writes it).</summary>
    public EventSlot[] Staged { get; } = new EventSlot[StageCapacity];

    /// <summary>Where each staged event's bytes are until its turn at the ring: an offset into the
    /// span of <see cref="Read"/> being framed, or (negative, -1 - offset) into <see cref="Carried"/>.</summary>
    public int[] StagedAt { get; } = new int[StageCapacity];

    /// <summary>The one event per read that was cut across reads, copied out of the framer's carry
    /// (which the framer reuses before the read ends).</summary>
    public byte[] Carried { get; }

    /// <summary>The catalog the staged rows were decoded for.</summary>
    public FieldCatalog Catalog { get; private set; } = FieldCatalog.Empty;

    /// <summary>Decoded rows of the staged events, <see cref="FieldCatalog.RowBytes"/> each.</summary>
    public byte[] Rows { get; private set; } = [];

    public int StagedCount { get; set; }

    public int CarriedUsed { get; set; }

    /// <summary>Decodes the next events for <paramref name="catalog"/>; only while nothing is staged.</summary>
    public void UseCatalog(FieldCatalog catalog)
    {
        if (!ReferenceEquals(catalog, Catalog))
        {
            // Only after a reload changed what stages read: not on the per-read path.
            Catalog = catalog;
            if (Rows.Length < StageCapacity * catalog.RowBytes)
            {
                Rows = new byte[StageCapacity * catalog.RowBytes];
            }
        }
    }

    /// <summary>The row of staged event <paramref name="index"/>.</summary>
    public Span<byte> Row(int index) => Rows.AsSpan(index * Catalog.RowBytes, Catalog.RowBytes);

    public void Clear()
    {
        StagedCount = 0;
        CarriedUsed = 0;
    }
}
