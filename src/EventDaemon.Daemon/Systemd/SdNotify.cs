using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using EventDaemon.Daemon.Interop;

namespace EventDaemon.Daemon.Systemd;

/// <summary>
/// The service-manager notification protocol (<c>sd_notify(3)</c>), spoken directly: one
/// <c>AF_UNIX</c> datagram of newline-separated <c>KEY=value</c> assignments to the socket named by
/// <c>$NOTIFY_SOCKET</c>, a file-system path or an abstract name written with a leading <c>@</c>.
/// </summary>
/// <remarks>
/// <para>
/// Without <c>$NOTIFY_SOCKET</c> (not under systemd, or <c>Type=</c> other than <c>notify</c>)
/// <see cref="Enabled"/> is false and every send is a no-op, so callers need not check.
/// </para>
/// <para>
/// Send failures (no listener: systemd restarted, or a stale variable) never reach the caller: the
/// first is logged as a warning, later ones are counted in <see cref="Failures"/> only, because the
/// watchdog would otherwise log every few seconds for as long as the condition lasts.
/// </para>
/// <para>Thread-safe: the watchdog thread and the main thread send through one socket.</para>
/// </remarks>
public sealed class SdNotify : IDisposable
{
    /// <summary>Larger than any state this daemon sends; systemd itself reads at most a page or so per datagram.</summary>
    private const int MaxDatagram = 4096;

    private static readonly byte[] StatusPrefix = "STATUS="u8.ToArray();

    /// <summary>
    /// A datagram socket blocks while the receiver's queue is full (10 datagrams by default). The
    /// service manager drains it at once; one that is stuck must not hang the thread that wanted to
    /// report READY=1 or a ping, so a send gives up after this and counts as a failure.
    /// </summary>
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(1);

    private readonly UnixDomainSocketEndPoint? _endPoint;
    private readonly SocketAddress? _address;
    private readonly Action<string>? _log;
    private readonly Lock _gate = new();
    private Socket? _socket;
    private bool _warned;
    private bool _disposed;
    private long _failures;

    /// <param name="notifySocket">The value of <c>$NOTIFY_SOCKET</c>: <c>/run/systemd/notify</c> or <c>@name</c>; <c>null</c> or empty disables.</param>
    /// <param name="watchdogInterval">How often to send <c>WATCHDOG=1</c>; see <see cref="ParseWatchdogInterval"/>.</param>
    /// <param name="log">Receives the first send failure and an unusable socket name; <c>null</c> discards them.</param>
    public SdNotify(string? notifySocket, TimeSpan? watchdogInterval = null, Action<string>? log = null)
    {
        _log = log;
        SocketName = string.IsNullOrEmpty(notifySocket) ? null : notifySocket;
        if (watchdogInterval is { } interval)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero, nameof(watchdogInterval));
        }

        WatchdogInterval = watchdogInterval;
        if (SocketName is null)
        {
            return;
        }

        if (SocketName[0] is not ('/' or '@'))
        {
            // systemd also knows vsock: addresses (for VMs); this daemon runs on the host.
            _log?.Invoke($"NOTIFY_SOCKET '{SocketName}' is neither a path nor an @abstract name; systemd notifications are off");
            return;
        }

        try
        {
            // An abstract name is the name after a NUL byte, with no terminator: '@' stands for the NUL.
            _endPoint = new UnixDomainSocketEndPoint(SocketName[0] == '@' ? "\0" + SocketName[1..] : SocketName);
            _address = _endPoint.Serialize();
        }
        catch (ArgumentException e)
        {
            _log?.Invoke($"NOTIFY_SOCKET '{SocketName}' is not a usable socket address ({e.Message}); systemd notifications are off");
            _endPoint = null;
            _address = null;
        }
    }

    /// <summary>From <c>$NOTIFY_SOCKET</c>, <c>$WATCHDOG_USEC</c> and <c>$WATCHDOG_PID</c>.</summary>
    public static SdNotify FromEnvironment(Action<string>? log = null) =>
        new(
            Environment.GetEnvironmentVariable("NOTIFY_SOCKET"),
            ParseWatchdogInterval(
                Environment.GetEnvironmentVariable("WATCHDOG_USEC"),
                Environment.GetEnvironmentVariable("WATCHDOG_PID"),
                Environment.ProcessId),
            log);

    /// <summary>Whether there is a socket to notify.</summary>
    public bool Enabled => _address is not null;

    /// <summary><c>$NOTIFY_SOCKET</c> as given.</summary>
    public string? SocketName { get; }

    /// <summary>How often to send <c>WATCHDOG=1</c>, or <c>null</c> when the service manager expects none.</summary>
    public TimeSpan? WatchdogInterval { get; }

    /// <summary>Datagrams that could not be sent.</summary>
    public long Failures => Volatile.Read(ref _failures);

    /// <summary>
    /// The ping interval systemd asks for: half of <c>$WATCHDOG_USEC</c> (systemd's own advice, so one
    /// late ping is not fatal), or <c>null</c> when it is unset, not a positive integer, or
    /// <c>$WATCHDOG_PID</c> names another process (the variable was inherited, not meant for us).
    /// </summary>
    public static TimeSpan? ParseWatchdogInterval(string? watchdogUsec, string? watchdogPid, int ownPid)
    {
        if (string.IsNullOrEmpty(watchdogUsec)
            || !ulong.TryParse(watchdogUsec, NumberStyles.None, CultureInfo.InvariantCulture, out ulong microseconds)
            || microseconds == 0)
        {
            return null;
        }

        if (!string.IsNullOrEmpty(watchdogPid)
            && (!int.TryParse(watchdogPid, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid != ownPid))
        {
            return null;
        }

        // TimeSpan holds 100 ns ticks: round half the period down to a whole tick, at least one.
        ulong halfTicks = Math.Max(1, Math.Min(microseconds / 2 * 10, (ulong)TimeSpan.MaxValue.Ticks));
        return TimeSpan.FromTicks((long)halfTicks);
    }

    /// <summary>CLOCK_MONOTONIC in microseconds, the clock <c>MONOTONIC_USEC=</c> is read against.</summary>
    public static unsafe long MonotonicMicroseconds()
    {
        Libc.TimeSpec now;
        if (Libc.clock_gettime(Libc.ClockMonotonic, &now) != 0)
        {
            throw new InvalidOperationException("clock_gettime(CLOCK_MONOTONIC) failed");
        }

        return (now.Seconds * 1_000_000) + (now.Nanoseconds / 1_000);
    }

    /// <summary>Startup finished: every source is bound and every consumer runs. Also ends a reload.</summary>
    public bool Ready() => Send("READY=1"u8);

    /// <summary>A one-line status for <c>systemctl status</c>; newlines become spaces (a newline would start a new assignment).</summary>
    public bool Status(string status)
    {
        ArgumentNullException.ThrowIfNull(status);
        if (!Enabled)
        {
            return false;
        }

        Span<byte> datagram = stackalloc byte[MaxDatagram];
        StatusPrefix.CopyTo(datagram);
        int length = StatusPrefix.Length;
        foreach (Rune rune in status.EnumerateRunes())
        {
            Rune r = rune.Value is '\n' or '\r' ? new Rune(' ') : rune;
            if (!r.TryEncodeToUtf8(datagram[length..], out int written))
            {
                break;
            }

            length += written;
        }

        return Send(datagram[..length]);
    }

    /// <summary>Shutdown began (SIGTERM): the drain that follows may take until <c>TimeoutStopSec</c>.</summary>
    public bool Stopping() => Send("STOPPING=1"u8);

    /// <summary>
    /// A reload began (SIGHUP): <c>RELOADING=1</c> with the monotonic time, which systemd (253 and
    /// later, <c>Type=notify-reload</c>) uses to tell this reload from an earlier one. Send
    /// <see cref="Ready"/> when it has finished, whether or not the new config was accepted.
    /// </summary>
    public bool Reloading()
    {
        Span<byte> datagram = stackalloc byte[64];
        "RELOADING=1\nMONOTONIC_USEC="u8.CopyTo(datagram);
        int length = "RELOADING=1\nMONOTONIC_USEC="u8.Length;
        MonotonicMicroseconds().TryFormat(datagram[length..], out int written, default, CultureInfo.InvariantCulture);
        return Send(datagram[..(length + written)]);
    }

    /// <summary>The keep-alive ping. Allocates nothing, so a steady-state daemon stays at zero.</summary>
    public bool Watchdog() => Send("WATCHDOG=1"u8);

    /// <summary>Sends <paramref name="state"/> (<c>KEY=value</c> lines) as one datagram.</summary>
    public bool Send(string state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return Enabled && Send(Encoding.UTF8.GetBytes(state));
    }

    /// <summary>Sends <paramref name="state"/> as one datagram; <c>false</c> when disabled or it could not be sent.</summary>
    public bool Send(ReadOnlySpan<byte> state)
    {
        if (_address is null)
        {
            return false;
        }

        lock (_gate)
        {
            if (_disposed)
            {
                return false;
            }

            try
            {
                _socket ??= CreateSocket();
                _socket.SendTo(state, SocketFlags.None, _address);
                return true;
            }
            catch (SocketException e)
            {
                Failed(e.Message);
                return false;
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _socket?.Dispose();
            _socket = null;
        }
    }

    private static Socket CreateSocket() =>
        new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified) { SendTimeout = (int)SendTimeout.TotalMilliseconds };

    private void Failed(string reason)
    {
        _failures++;
        if (!_warned)
        {
            _warned = true;
            _log?.Invoke($"cannot notify systemd at '{SocketName}': {reason}; further failures are not logged");
        }
    }
}
