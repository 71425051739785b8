using System.Runtime.InteropServices;
using EventDaemon.Daemon.Interop;

namespace EventDaemon.Daemon.Sinks.Transports.Internal;

/// <summary>Whole writes to a raw file descriptor: partial writes, <c>EINTR</c> and <c>EAGAIN</c> handled.</summary>
internal static unsafe class Descriptor
{
    /// <summary>
    /// Writes every byte of <paramref name="data"/>, looping over partial writes. A descriptor someone
    /// made non-blocking (a pipe or terminal shared with another process) is waited on with
    /// <c>poll</c> rather than spun on, so it behaves like a blocking one.
    /// </summary>
    /// <param name="written">Bytes that reached the descriptor, also on failure (the caller may undo them).</param>
    /// <param name="errno">Why it failed; 0 on success.</param>
    public static bool WriteAll(int fd, ReadOnlySpan<byte> data, out long written, out int errno)
    {
        long done = 0;
        fixed (byte* start = data)
        {
            while (done < data.Length)
            {
                nint n = Libc.write(fd, start + done, (nuint)(data.Length - done));
                if (n > 0)
                {
                    done += n;
                    continue;
                }

                int error = n == 0 ? 0 : Marshal.GetLastPInvokeError();
                if (error == Libc.EIntr)
                {
                    continue;
                }

                if (error == Libc.EAgain && WaitWritable(fd, out error))
                {
                    continue;
                }

                // write(2) returns 0 for a non-empty buffer only on exotic files; report it rather than spin.
                written = done;
                errno = error;
                return false;
            }
        }

        written = done;
        errno = 0;
        return true;
    }

    private static bool WaitWritable(int fd, out int errno)
    {
        var pollFd = new Libc.PollFd { Fd = fd, Events = Libc.PollOut };
        while (true)
        {
            if (Libc.poll(&pollFd, 1, -1) >= 0)
            {
                errno = 0;
                return true;
            }

            errno = Marshal.GetLastPInvokeError();
            if (errno != Libc.EIntr)
            {
                return false;
            }
        }
    }
}
