using System.Buffers.Binary;
using EventDaemon.Daemon.Interop;
using EventDaemon.Daemon.Journal.Internal;

namespace EventDaemon.Daemon.Journal;

/// <summary>
/// What a sink has delivered: the last journal sequence, and for a file sink the byte offset after it.
/// A file sink behind an aggregate keeps the start of the last window it delivered in
/// <paramref name="Sequence"/>; an aggregate keeps the journal sequence its replay starts at, the
/// start of the last window its sinks delivered in <paramref name="Offset"/> and the watermark to
/// restore in <paramref name="Mark"/> (JOURNAL.md, "Aggregates and replay").
/// </summary>
public readonly record struct Checkpoint(long Sequence, long Offset, long Mark = 0);

/// <summary>
/// One sink's checkpoint file: two slots written in turn, each with its own generation and CRC, each
/// write followed by <c>fdatasync</c>. A write torn by a crash can only damage the slot being
/// written; the other still holds the previous checkpoint, so reading never finds none after the
/// first one was synced.
/// </summary>
/// <remarks>
/// Slot layout (64 bytes, little-endian): magic "EVCK" (4), zero (4), generation (8), sequence (8),
/// offset (8), mark (8, zero for a sink), zero (20), CRC32C of bytes 0–59 (4). Slot g % 2 holds generation g.
/// </remarks>
public sealed class SinkCheckpoint : IDisposable
{
    private const uint Magic = 0x4B43_5645;
    private const int SlotBytes = 64;

    private readonly int _fd;
    private readonly byte[] _slot = new byte[SlotBytes];
    private long _generation;

    private SinkCheckpoint(int fd, string path, long generation, Checkpoint? last)
    {
        _fd = fd;
        Path = path;
        _generation = generation;
        Last = last;
    }

    public string Path { get; }

    /// <summary>The last checkpoint written or found; null when there is none.</summary>
    public Checkpoint? Last { get; private set; }

    /// <summary>Opens (creating) the checkpoint file and reads the newest intact slot.</summary>
    public static SinkCheckpoint Open(string path)
    {
        int fd = SegmentFile.OpenFd(path, Libc.OReadWrite | Libc.OCreate | Libc.OCloseOnExec, out int errno);
        if (fd < 0)
        {
            throw new JournalException($"checkpoint: cannot open {path}: {JournalWriter.Errno(errno)}");
        }

        long generation = 0;
        Checkpoint? last = null;
        Span<byte> slot = stackalloc byte[SlotBytes];
        for (int i = 0; i < 2; i++)
        {
            if (SegmentFile.ReadAt(fd, slot, (long)i * SlotBytes) == SlotBytes && TryRead(slot, out long g, out Checkpoint c) && g >= generation)
            {
                generation = g;
                last = c;
            }
        }

        return new SinkCheckpoint(fd, path, generation, last);
    }

    /// <summary>Reads the newest intact checkpoint of a file without opening it for writing (verify, tests).</summary>
    public static Checkpoint? Read(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        byte[] bytes = File.ReadAllBytes(path);
        long generation = 0;
        Checkpoint? last = null;
        for (int i = 0; i + SlotBytes <= bytes.Length && i < 2 * SlotBytes; i += SlotBytes)
        {
            if (TryRead(bytes.AsSpan(i, SlotBytes), out long g, out Checkpoint c) && g >= generation)
            {
                generation = g;
                last = c;
            }
        }

        return last;
    }

    /// <summary>Writes and syncs the next checkpoint into the slot not holding the current one. Returns errno, 0 on success.</summary>
    public int Write(Checkpoint checkpoint)
    {
        long generation = _generation + 1;
        Span<byte> slot = _slot;
        slot.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(slot, Magic);
        BinaryPrimitives.WriteInt64LittleEndian(slot[8..], generation);
        BinaryPrimitives.WriteInt64LittleEndian(slot[16..], checkpoint.Sequence);
        BinaryPrimitives.WriteInt64LittleEndian(slot[24..], checkpoint.Offset);
        BinaryPrimitives.WriteInt64LittleEndian(slot[32..], checkpoint.Mark);
        BinaryPrimitives.WriteUInt32LittleEndian(slot[60..], Crc32C.Compute(slot[..60]));
        int errno = SegmentFile.WriteAt(_fd, slot, (generation % 2) * SlotBytes);
        if (errno == 0 && Libc.fdatasync(_fd) != 0)
        {
            errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        }

        if (errno == 0)
        {
            _generation = generation;
            Last = checkpoint;
        }

        return errno;
    }

    public void Dispose() => Libc.close(_fd);

    private static bool TryRead(ReadOnlySpan<byte> slot, out long generation, out Checkpoint checkpoint)
    {
        generation = BinaryPrimitives.ReadInt64LittleEndian(slot[8..]);
        checkpoint = new Checkpoint(BinaryPrimitives.ReadInt64LittleEndian(slot[16..]), BinaryPrimitives.ReadInt64LittleEndian(slot[24..]),
            BinaryPrimitives.ReadInt64LittleEndian(slot[32..]));
        return BinaryPrimitives.ReadUInt32LittleEndian(slot) == Magic
            && BinaryPrimitives.ReadUInt32LittleEndian(slot[60..]) == Crc32C.Compute(slot[..60])
            && generation > 0;
    }
}
