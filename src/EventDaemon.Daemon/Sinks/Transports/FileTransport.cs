using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EventDaemon.Daemon.Interop;
using EventDaemon.Daemon.Journal;
using EventDaemon.Daemon.Sinks.Transports.Internal;

namespace EventDaemon.Daemon.Sinks.Transports;

/// <summary>
/// Appends batches to a file: one <c>write(2)</c> per batch, rotation by size, and an
/// <c>fsync</c> policy.
/// </summary>
/// <remarks>
/// <para>
/// Rotation: when the next batch would take the file past <c>rotateBytes</c>, <c>path</c> becomes
/// <c>path.1</c> (<c>path.1</c> becomes <c>path.2</c>, and so on up to <c>path.{keep}</c>, whose old
/// contents are dropped) and a new <c>path</c> is started. A batch is never split across files, so a
/// batch larger than <c>rotateBytes</c> makes a file of its own. A file that is empty is not rotated.
/// </para>
/// <para>
/// A batch is written whole or not at all: if a write or an <c>fsync = always</c> sync fails after
/// some bytes reached the file, the file is truncated back to where the batch began, so the
/// caller's retry does not leave half a batch followed by the whole of it.
/// </para>
/// <para>
/// Syncs use <c>fdatasync</c>: an append changes the file's size, which <c>fdatasync</c> does
/// write, and skipping the modification time saves a journal commit per sync on most file systems.
/// </para>
/// </remarks>
public readonly struct FileTransport : ISinkTransport
{
    /// <summary>Rotated files kept beside the live one when none is given.</summary>
    public const int DefaultKeepFiles = 5;

    /// <summary>rw-r-----: the daemon's user writes, its group (log shippers) reads, others nothing.</summary>
    public const uint FileMode = 0b110_100_000;

    private readonly State _state;

    /// <param name="path">The file appended to; its directory is created if missing.</param>
    /// <param name="rotateBytes">Rotate before a batch would take the file past this size; <c>null</c> never rotates.</param>
    /// <param name="fsync">When written bytes are synced to disk.</param>
    /// <param name="fsyncInterval">With <see cref="FsyncMode.Interval"/>: at most this long between a write and its sync.</param>
    /// <param name="keepFiles">Rotated files kept (<c>path.1</c> … <c>path.{keepFiles}</c>).</param>
    /// <param name="checkpoint">With a journal: told where each batch ended and when it is on disk, so the
    /// sink's checkpoint follows every sync of the file (with <c>fsync = never</c>: the page cache, at most
    /// every <see cref="SinkCheckpointer.UnsyncedCommitMs"/> ms).</param>
    public FileTransport(string path, long? rotateBytes = null, FsyncMode fsync = FsyncMode.Never, TimeSpan fsyncInterval = default, int keepFiles = DefaultKeepFiles,
        SinkCheckpointer? checkpoint = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (path.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("a file sink path cannot contain a NUL character", nameof(path));
        }

        if (rotateBytes is { } limit)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit, nameof(rotateBytes));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(keepFiles);
        if (!Enum.IsDefined(fsync))
        {
            throw new ArgumentOutOfRangeException(nameof(fsync), fsync, "unknown fsync mode");
        }

        if (fsync == FsyncMode.Interval && fsyncInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(fsyncInterval), fsyncInterval, "fsync = interval needs a positive interval");
        }

        _state = new State(System.IO.Path.GetFullPath(path), rotateBytes ?? 0, fsync, fsyncInterval, keepFiles) { Checkpoint = checkpoint };
    }

    public string Path => _state.Path;

    /// <summary>Size of the live file as this transport knows it.</summary>
    /// <remarks>This and the counters below are written by the sink's thread only and read with <see cref="Volatile"/> from any.</remarks>
    public long Length => Volatile.Read(ref _state.Size);

    /// <summary>Successful syncs (any policy), for <c>info</c> and tests.</summary>
    public long Syncs => Volatile.Read(ref _state.Syncs);

    public long Rotations => Volatile.Read(ref _state.Rotations);

    /// <summary>The last failure, including ones <see cref="Tick"/> and <see cref="Close"/> could not return; <c>null</c> after a success.</summary>
    public string? LastError => Volatile.Read(ref _state.LastError);

    public bool IsReady => true;

    /// <summary>A file takes every write or fails it; it never pushes back.</summary>
    public bool IsBlocked => false;

    public long BlockedSince => 0;

    /// <summary>Nothing to reconnect: never resends.</summary>
    public long ResentEvents => 0;

    public string Describe() => _state.Description;

    public void Open() => _state.Open();

    public bool TryWrite(ReadOnlySpan<byte> batch, out string? error)
    {
        State s = _state;
        if ((s.Fd < 0 || (s.RotateBytes != 0 && s.Size != 0 && s.Size + batch.Length > s.RotateBytes))
            && !s.Prepare(batch.Length, out error))
        {
            return false;
        }

        long before = s.Size;
        if (!Descriptor.WriteAll(s.Fd, batch, out long written, out int errno))
        {
            return s.WriteFailed(before, written, errno, out error);
        }

        if (s.Fsync == FsyncMode.Always)
        {
            if (Libc.fdatasync(s.Fd) != 0)
            {
                return s.SyncFailed(before, out error);
            }

            s.Syncs++;
        }
        else if (s.Fsync == FsyncMode.Interval && batch.Length > 0)
        {
            s.Dirty = true;
        }

        Volatile.Write(ref s.Size, before + batch.Length);
        if (s.Checkpoint is { } checkpoint)
        {
            checkpoint.Written(before + batch.Length);
            if (s.Fsync == FsyncMode.Always)
            {
                checkpoint.Commit(Stopwatch.GetTimestamp());
            }
        }

        if (s.LastError is not null)
        {
            Volatile.Write(ref s.LastError, null);
        }

        error = null;
        return true;
    }

    /// <summary>A refused batch left nothing behind here.</summary>
    public void GiveUp()
    {
    }

    public void Tick(long nowTimestamp)
    {
        State s = _state;
        if (s.Dirty && nowTimestamp - s.LastSync >= s.IntervalTicks)
        {
            s.SyncOnTick(nowTimestamp);
        }
        else if (!s.Dirty && s.Checkpoint is { } checkpoint)
        {
            // Nothing unsynced (or fsync = never, where the page cache is what there is): a checkpoint
            // that moved without a write, or the one fsync = never takes, at most every 100 ms.
            checkpoint.Commit(nowTimestamp, limited: true);
        }
    }

    public void Close() => _state.Close();

    private sealed class State
    {
        public readonly string Path;
        public readonly string Description;
        public readonly long RotateBytes;
        public readonly FsyncMode Fsync;
        public readonly long IntervalTicks;
        public readonly int KeepFiles;

        public int Fd = -1;
        public long Size;
        public bool Dirty;
        public long LastSync;
        public long Syncs;
        public long Rotations;
        public string? LastError;
        public SinkCheckpointer? Checkpoint;

        // NUL-terminated UTF-8, made once: [0] = path, [i] = path.i; renames and reopens marshal nothing.
        private readonly byte[][] _paths;
        private readonly byte[] _directory;

        public State(string path, long rotateBytes, FsyncMode fsync, TimeSpan interval, int keepFiles)
        {
            Path = path;
            RotateBytes = rotateBytes;
            Fsync = fsync;
            IntervalTicks = fsync == FsyncMode.Interval ? (long)((Int128)interval.Ticks * Stopwatch.Frequency / TimeSpan.TicksPerSecond) : long.MaxValue;
            KeepFiles = keepFiles;
            Description = rotateBytes > 0
                ? $"file {path} (rotate at {rotateBytes} bytes, keep {keepFiles}, fsync {FsyncName(fsync)})"
                : $"file {path} (fsync {FsyncName(fsync)})";
            _paths = new byte[rotateBytes > 0 ? keepFiles + 1 : 1][];
            for (int i = 0; i < _paths.Length; i++)
            {
                _paths[i] = Libc.NulTerminated(i == 0 ? path : $"{path}.{i}");
            }

            _directory = Libc.NulTerminated(System.IO.Path.GetDirectoryName(path) ?? "/");
        }

        public void Open()
        {
            if (Fd >= 0)
            {
                return;
            }

            string directory = System.IO.Path.GetDirectoryName(Path) ?? "/";
            try
            {
                Directory.CreateDirectory(directory);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IOException(
                    $"file sink: cannot create directory '{directory}' for '{Path}': {e.Message}; create it, or choose a path the daemon's user may write", e);
            }

            if (!TryOpen(out int errno))
            {
                throw new IOException(
                    $"file sink: cannot open '{Path}' for appending: {Errno.Describe(errno)}; check that it is not a directory and that the daemon's user may write there");
            }

            LastSync = Stopwatch.GetTimestamp();
            if (Checkpoint?.TakeStartOffset() is { } offset && offset < Size)
            {
                // Bytes past the checkpoint were written before a crash and are replayed from the
                // journal now: cut off, so the file holds each event once.
                if (Libc.ftruncate(Fd, offset) != 0 || (Fsync != FsyncMode.Never && Libc.fdatasync(Fd) != 0))
                {
                    throw new IOException($"file sink: cannot cut '{Path}' back to its checkpoint ({offset} bytes): {Errno.Describe(Marshal.GetLastPInvokeError())}");
                }

                Volatile.Write(ref Size, offset);
                Checkpoint.Opened(offset);
            }

            if (Fsync != FsyncMode.Never)
            {
                SyncDirectory();
            }
        }

        /// <summary>Opens the file again after a failure, or rotates it, before a batch of <paramref name="length"/> bytes.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        public bool Prepare(int length, out string? error)
        {
            if (Fd < 0 && !TryOpen(out int errno))
            {
                return Fail($"cannot open '{Path}': {Errno.Describe(errno)}", out error);
            }

            if (RotateBytes != 0 && Size != 0 && Size + length > RotateBytes)
            {
                return TryRotate(out error);
            }

            error = null;
            return true;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public bool WriteFailed(long before, long written, int errno, out string? error)
        {
            string undo = written > 0 ? Undo(before) : "";
            return Fail($"write to '{Path}' failed: {Errno.Describe(errno)}{undo}", out error);
        }

        /// <summary>
        /// <c>fsync = always</c> could not sync: the batch is taken back off the file so the caller's
        /// retry writes it once, rather than trusting page-cache contents the kernel just failed to store.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        public bool SyncFailed(long before, out string? error)
        {
            int errno = Marshal.GetLastPInvokeError();
            string undo = Undo(before);
            return Fail($"fsync of '{Path}' failed: {Errno.Describe(errno)}{undo}", out error);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public void SyncOnTick(long now)
        {
            if (Fd < 0)
            {
                return;
            }

            if (Libc.fdatasync(Fd) == 0)
            {
                Dirty = false;
                LastSync = now;
                Syncs++;
                Checkpoint?.Commit(now);
            }
            else
            {
                // Kept dirty: the next tick tries again, and health shows the error meanwhile.
                Volatile.Write(ref LastError, $"fsync of '{Path}' failed: {Errno.Describe(Marshal.GetLastPInvokeError())}");
            }
        }

        public void Close()
        {
            if (Fd < 0)
            {
                return;
            }

            // fsync = always synced every batch already; interval syncs what the last tick did not.
            if (Dirty && Libc.fdatasync(Fd) == 0)
            {
                Syncs++;
                Dirty = false;
            }

            // Everything written is on disk now, or (fsync = never) in the page cache.
            if (!Dirty)
            {
                Checkpoint?.Commit(Stopwatch.GetTimestamp());
            }

            if (Libc.close(Fd) != 0)
            {
                Volatile.Write(ref LastError, $"close of '{Path}' failed: {Errno.Describe(Marshal.GetLastPInvokeError())}");
            }

            Fd = -1;
        }

        private unsafe bool TryOpen(out int errno)
        {
            fixed (byte* path = _paths[0])
            {
                int fd = Libc.open(path, Libc.OWriteOnly | Libc.OCreate | Libc.OAppend | Libc.OCloseOnExec, FileMode);
                if (fd < 0)
                {
                    errno = Marshal.GetLastPInvokeError();
                    return false;
                }

                long size = Libc.lseek(fd, 0, Libc.SeekEnd);
                if (size < 0)
                {
                    errno = Marshal.GetLastPInvokeError();
                    Libc.close(fd);
                    return false;
                }

                Fd = fd;
                Volatile.Write(ref Size, size);
                Checkpoint?.Opened(size);
                errno = 0;
                return true;
            }
        }

        private unsafe bool TryRotate(out string? error)
        {
            if (Dirty)
            {
                if (Libc.fdatasync(Fd) != 0)
                {
                    return Fail($"fsync of '{Path}' before rotating failed: {Errno.Describe(Marshal.GetLastPInvokeError())}", out error);
                }

                Syncs++;
                Dirty = false;
            }

            Libc.close(Fd);
            Fd = -1;

            // Oldest first, so each rename's target is already out of the way; path.{keep} is overwritten.
            for (int i = KeepFiles; i >= 1; i--)
            {
                fixed (byte* from = _paths[i - 1], to = _paths[i])
                {
                    if (Libc.rename(from, to) != 0)
                    {
                        int errno = Marshal.GetLastPInvokeError();
                        if (errno != Libc.ENoEnt)
                        {
                            // The live file may already have moved; the next write reopens whichever 'path' exists.
                            return Fail($"rotating '{Path}' failed: renaming to '{Path}.{i}': {Errno.Describe(errno)}", out error);
                        }
                    }
                }
            }

            Rotations++;
            if (!TryOpen(out int openErrno))
            {
                return Fail($"cannot open '{Path}' after rotating: {Errno.Describe(openErrno)}", out error);
            }

            if (Fsync != FsyncMode.Never)
            {
                SyncDirectory();
            }

            // The checkpoint's offset is into the live file: before a batch lands in the new one, say
            // that everything so far (synced above) is behind offset 0, so a start never truncates the
            // new file to an offset of the old one.
            if (Checkpoint is { } checkpoint)
            {
                checkpoint.Rotated();
                checkpoint.Commit(Stopwatch.GetTimestamp());
            }

            error = null;
            return true;
        }

        /// <summary>Takes a failed batch's bytes back off the end of the file.</summary>
        private string Undo(long length)
        {
            if (Libc.ftruncate(Fd, length) == 0)
            {
                return " (the partial batch was removed)";
            }

            int errno = Marshal.GetLastPInvokeError();
            long size = Libc.lseek(Fd, 0, Libc.SeekEnd);
            Volatile.Write(ref Size, size >= 0 ? size : length);
            return $" (and removing the partial batch failed: {Errno.Describe(errno)})";
        }

        /// <summary>Makes a created or renamed file's name durable too. Best effort: some file systems refuse.</summary>
        private unsafe void SyncDirectory()
        {
            fixed (byte* directory = _directory)
            {
                int fd = Libc.open(directory, Libc.OReadOnly | Libc.OCloseOnExec, 0);
                if (fd >= 0)
                {
                    Libc.fsync(fd);
                    Libc.close(fd);
                }
            }
        }

        private bool Fail(string message, out string? error)
        {
            Volatile.Write(ref LastError, message);
            error = message;
            return false;
        }

        private static string FsyncName(FsyncMode mode) => mode switch
        {
            FsyncMode.Always => "always",
            FsyncMode.Interval => "interval",
            _ => "never",
        };
    }
}
