using System.Runtime.InteropServices;
using EventDaemon.Daemon.Interop;
using EventDaemon.Daemon.Sinks.Transports.Internal;

namespace EventDaemon.Daemon.Sinks.Transports;

/// <summary>
/// Writes batches to standard output with <c>write(2)</c> on descriptor 1 (under systemd, the
/// journal). Bypasses <see cref="Console"/>: no encoder, no lock, no buffer of its own.
/// </summary>
/// <remarks>
/// A batch that fails part-way (the reader went away) cannot be taken back from a pipe; the caller's
/// retry writes it again whole, so a reader that comes back may see the start of one batch twice.
/// </remarks>
public readonly struct StdoutTransport : ISinkTransport
{
    private const int StdoutFd = 1;

    private readonly int _fd;
    private readonly string _description;

    /// <summary>Descriptor 1.</summary>
    public StdoutTransport()
        : this(StdoutFd, "stdout")
    {
    }

    private StdoutTransport(int fd, string description)
    {
        _fd = fd;
        _description = description;
    }

    /// <summary>
    /// The same transport on another descriptor the process already holds (one inherited from the
    /// service manager, or a pipe in a test). The descriptor stays the caller's: <see cref="Close"/>
    /// does not close it.
    /// </summary>
    public static StdoutTransport ForDescriptor(int fd, string description)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        ArgumentException.ThrowIfNullOrEmpty(description);
        return new StdoutTransport(fd, description);
    }

    public bool IsReady => true;

    /// <summary>A full pipe is waited on inside the write (see <see cref="Internal.Descriptor"/>), not reported.</summary>
    public bool IsBlocked => false;

    public long BlockedSince => 0;

    /// <summary>Nothing to reconnect: never resends.</summary>
    public long ResentEvents => 0;

    public string Describe() => _description;

    public void Open()
    {
        if (Libc.fcntl(_fd, Libc.FGetFl) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new IOException(
                $"{_description} sink: descriptor {_fd} is not open ({Errno.Describe(errno)}); start eventd with standard output attached, or use a file sink");
        }
    }

    public bool TryWrite(ReadOnlySpan<byte> batch, out string? error)
    {
        if (Descriptor.WriteAll(_fd, batch, out _, out int errno))
        {
            error = null;
            return true;
        }

        error = WriteFailed(errno);
        return false;
    }

    /// <summary>A refused batch left nothing behind here.</summary>
    public void GiveUp()
    {
    }

    public void Tick(long nowTimestamp)
    {
    }

    public void Close()
    {
    }

    private string WriteFailed(int errno) => $"{_description}: write failed: {Errno.Describe(errno)}";
}
