using System.Runtime.InteropServices;
using EventDaemon.Daemon.Interop;

namespace EventDaemon.Daemon.Journal.Internal;

/// <summary>One open segment: its descriptor, where its next group goes, and the file calls on it.</summary>
internal sealed unsafe class SegmentFile
{
    /// <summary>Zeros written a megabyte at a time: few calls, a small buffer shared by every zeroing.</summary>
    private static readonly byte[] ZeroChunk = new byte[1 << 20];

    private SegmentFile(int fd, string path)
    {
        Fd = fd;
        Path = path;
    }

    public int Fd { get; private set; }

    public string Path { get; private set; }

    /// <summary>Where the next group is written. Owned by the writer.</summary>
    public long Position { get; set; }

    /// <summary>An older segment reused as a spare (its bytes are old groups, not zeros).</summary>
    public bool Recycled { get; set; }

    /// <summary>Opens (or creates, mode 0640) a segment file for reading and writing.</summary>
    public static SegmentFile Open(string path, bool create, out int errno)
    {
        int fd = OpenFd(path, Libc.OReadWrite | Libc.OCloseOnExec | (create ? Libc.OCreate : 0), out errno);
        return new SegmentFile(fd, path);
    }

    public bool IsOpen => Fd >= 0;

    /// <summary>Writes all of <paramref name="data"/> at <paramref name="offset"/>; errno on failure.</summary>
    public int WriteAt(ReadOnlySpan<byte> data, long offset) => WriteAt(Fd, data, offset);

    /// <summary>
    /// Writes zeros over [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="length"/>)
    /// a piece at a time, so zeroing a whole segment needs no segment-sized buffer; stops early (and
    /// returns <c>EINTR</c>) when <paramref name="stopping"/> says so. Returns errno, 0 on success.
    /// </summary>
    public int WriteZeros(long offset, long length, Func<bool>? stopping = null)
    {
        for (long done = 0; done < length; done += ZeroChunk.Length)
        {
            if (stopping?.Invoke() == true)
            {
                return Libc.EIntr;
            }

            int errno = WriteAt(ZeroChunk.AsSpan(0, (int)Math.Min(ZeroChunk.Length, length - done)), offset + done);
            if (errno != 0)
            {
                return errno;
            }
        }

        return 0;
    }

    public int Sync() => Libc.fdatasync(Fd) == 0 ? 0 : Marshal.GetLastPInvokeError();

    public void Close()
    {
        if (Fd >= 0)
        {
            Libc.close(Fd);
            Fd = -1;
        }
    }

    /// <summary>Renames the file; the directory must be synced for the name to be durable.</summary>
    public int Rename(string newPath)
    {
        int rc;
        fixed (byte* from = Libc.NulTerminated(Path))
        fixed (byte* to = Libc.NulTerminated(newPath))
        {
            rc = Libc.rename(from, to);
        }

        if (rc != 0)
        {
            return Marshal.GetLastPInvokeError();
        }

        Path = newPath;
        return 0;
    }

    internal static int WriteAt(int fd, ReadOnlySpan<byte> data, long offset)
    {
        fixed (byte* start = data)
        {
            long done = 0;
            while (done < data.Length)
            {
                nint n = Libc.pwrite(fd, start + done, (nuint)(data.Length - done), offset + done);
                if (n > 0)
                {
                    done += n;
                    continue;
                }

                int errno = n == 0 ? Libc.ENoSpc : Marshal.GetLastPInvokeError();
                if (errno != Libc.EIntr)
                {
                    return errno;
                }
            }
        }

        return 0;
    }

    internal static int ReadAt(int fd, Span<byte> data, long offset)
    {
        fixed (byte* start = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                nint n = Libc.pread(fd, start + done, (nuint)(data.Length - done), offset + done);
                if (n > 0)
                {
                    done += (int)n;
                    continue;
                }

                if (n == 0)
                {
                    break;
                }

                if (Marshal.GetLastPInvokeError() != Libc.EIntr)
                {
                    return -1;
                }
            }

            return done;
        }
    }

    internal static int OpenFd(string path, int flags, out int errno)
    {
        fixed (byte* p = Libc.NulTerminated(path))
        {
            int fd = Libc.open(p, flags, 0b110_100_000);
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
            return fd;
        }
    }

}
