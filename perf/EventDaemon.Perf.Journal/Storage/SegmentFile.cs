using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EventDaemon.Perf.Journal.Internal;
using EventDaemon.Perf.Journal.Interop;
using Microsoft.Win32.SafeHandles;

namespace EventDaemon.Perf.Journal.Storage;

/// <summary>
/// One segment file, the one owner of its descriptor: created either zeroed ahead to its full
/// size (the journal's plan) or empty, to grow with each write (the counter-example). Deleted on
/// dispose, so that its dirty pages are dropped instead of written back under the next run.
/// </summary>
internal sealed unsafe class SegmentFile : IDisposable
{
    /// <summary>Zeroing writes 1 MiB at a time: big enough that the call overhead vanishes.</summary>
    private const int ZeroChunk = 1 << 20;

    private readonly string _path;

    private SegmentFile(string path, SafeFileHandle handle, long capacity, bool preZeroed, double zeroingSeconds)
    {
        _path = path;
        Handle = handle;
        Capacity = capacity;
        PreZeroed = preZeroed;
        ZeroingSeconds = zeroingSeconds;
    }

    public SafeFileHandle Handle { get; }

    /// <summary>Bytes the benchmark may write: the zeroed size, or the cap of a growing file.</summary>
    public long Capacity { get; }

    public bool PreZeroed { get; }

    /// <summary>Time taken to write the zeros and sync them (0 for a growing file).</summary>
    public double ZeroingSeconds { get; }

    /// <summary>Writes <paramref name="capacity"/> zero bytes and syncs them, so that later writes
    /// change no block allocation or extent state and <c>fdatasync</c> has only data to flush.</summary>
    /// <remarks><c>fallocate</c> alone is not enough on ext4: it leaves unwritten extents, and the
    /// first write into each still converts it, a metadata change the next sync must journal.</remarks>
    public static SegmentFile CreateZeroed(string path, long capacity)
    {
        long start = Stopwatch.GetTimestamp();
        SafeFileHandle handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        var zeros = new byte[ZeroChunk];
        for (long offset = 0; offset < capacity; offset += ZeroChunk)
        {
            RandomAccess.Write(handle, zeros.AsSpan(0, (int)Math.Min(ZeroChunk, capacity - offset)), offset);
        }

        DataSync(handle);
        return new SegmentFile(path, handle, capacity, preZeroed: true, Stopwatch.GetElapsedTime(start).TotalSeconds);
    }

    public static SegmentFile CreateGrowing(string path, long capacity) =>
        new(path, File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None), capacity, preZeroed: false, 0);

    /// <summary>pwrite(2) of all of <paramref name="data"/> at <paramref name="offset"/>.</summary>
    public void Write(ReadOnlySpan<byte> data, long offset)
    {
        fixed (byte* p = data)
        {
            nint written = Libc.pwrite(Handle, p, (nuint)data.Length, offset);
            if (written != data.Length)
            {
                WriteRemainder(data, offset, written);
            }
        }
    }

    /// <summary>pwritev(2) of <paramref name="head"/> then <paramref name="body"/> at <paramref name="offset"/>,
    /// from where they are, without copying them into one buffer.</summary>
    public void Write(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body, long offset)
    {
        fixed (byte* h = head)
        fixed (byte* b = body)
        {
            Libc.IoVec* iov = stackalloc Libc.IoVec[2];
            iov[0] = new Libc.IoVec { Base = h, Length = (nuint)head.Length };
            iov[1] = new Libc.IoVec { Base = b, Length = (nuint)body.Length };
            nint written = Libc.pwritev(Handle, iov, 2, offset);
            if (written != head.Length + body.Length)
            {
                WriteRemainder(head, body, offset, written);
            }
        }
    }

    /// <summary>pwritev(2) of <paramref name="iov"/> (pointing into pinned memory), <paramref name="bytes"/> in all, at <paramref name="offset"/>.</summary>
    /// <remarks>A regular file takes a gather write whole or fails (a full disk): a short write is
    /// an error here, not a loop over the iovecs.</remarks>
    public void Write(ReadOnlySpan<Libc.IoVec> iov, long bytes, long offset)
    {
        fixed (Libc.IoVec* v = iov)
        {
            nint written = Libc.pwritev(Handle, v, iov.Length, offset);
            if (written != bytes)
            {
                ThrowHelper.IoFailed("pwritev", written < 0 ? Marshal.GetLastSystemError() : 28 /* ENOSPC: short write */);
            }
        }
    }

    /// <summary>fdatasync(2): the data and whatever metadata is needed to read it back (the size, for a growing file).</summary>
    public void DataSync() => DataSync(Handle);

    private static void DataSync(SafeFileHandle handle)
    {
        if (Libc.fdatasync(handle) != 0)
        {
            ThrowHelper.IoFailed("fdatasync", Marshal.GetLastSystemError());
        }
    }

    public SegmentMapping Map() => SegmentMapping.Map(this);

    public void Dispose()
    {
        Handle.Dispose();
        File.Delete(_path);
    }

    /// <summary>A short write (a signal, a full disk) is finished here, off the inlined path.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WriteRemainder(ReadOnlySpan<byte> data, long offset, nint written)
    {
        while (true)
        {
            if (written < 0)
            {
                int errno = Marshal.GetLastSystemError();
                if (errno != Libc.Eintr)
                {
                    ThrowHelper.IoFailed("pwrite", errno);
                }

                written = 0;
            }

            data = data[(int)written..];
            offset += written;
            if (data.IsEmpty)
            {
                return;
            }

            fixed (byte* p = data)
            {
                written = Libc.pwrite(Handle, p, (nuint)data.Length, offset);
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WriteRemainder(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body, long offset, nint written)
    {
        if (written < 0)
        {
            int errno = Marshal.GetLastSystemError();
            if (errno != Libc.Eintr)
            {
                ThrowHelper.IoFailed("pwritev", errno);
            }

            written = 0;
        }

        if (written < head.Length)
        {
            Write(head[(int)written..], offset + written);
            Write(body, offset + head.Length);
        }
        else
        {
            int done = (int)written - head.Length;
            Write(body[done..], offset + written);
        }
    }
}
