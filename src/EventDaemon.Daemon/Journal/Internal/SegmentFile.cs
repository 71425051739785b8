using System.Runtime.InteropServices;
using System.Text;
using EventDaemon.Daemon.Interop;

namespace EventDaemon.Daemon.Journal.Internal;

/// <summary>One open segment: its descriptor, where its next group goes, and the file calls on it.</summary>
internal sealed unsafe class SegmentFile
{
    private SegmentFile(int fd, string path)
    {
        Fd = fd;
        Path = path;
    }

    public int Fd { get; private set; }

    public string Path { get; private set; }

    /// <summary>Where the next group is written. Owned by the writer.</summary>
    public long Position { get; set; }

    /// <summary>Opens (or creates, mode 0640) a segment file for reading and writing.</summary>
    public static SegmentFile Open(string path, bool create, out int errno)
    {
        int fd = OpenFd(path, Libc.OReadWrite | Libc.OCloseOnExec | (create ? Libc.OCreate : 0), out errno);
        return new SegmentFile(fd, path);
    }

    public bool IsOpen => Fd >= 0;

    /// <summary>Writes all of <paramref name="data"/> at <paramref name="offset"/>; errno on failure.</summary>
    public int WriteAt(ReadOnlySpan<byte> data, long offset) => WriteAt(Fd, data, offset);

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
        fixed (byte* from = NulTerminated(Path))
        fixed (byte* to = NulTerminated(newPath))
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
        fixed (byte* p = NulTerminated(path))
        {
            int fd = Libc.open(p, flags, 0b110_100_000);
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
            return fd;
        }
    }

    internal static byte[] NulTerminated(string path)
    {
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(path) + 1];
        Encoding.UTF8.GetBytes(path, bytes);
        return bytes;
    }
}
