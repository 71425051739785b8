using System.Runtime.InteropServices;
using EventDaemon.Daemon.Interop;
using EventDaemon.Daemon.Runtime;

namespace EventDaemon.Daemon.Control.Internal;

/// <summary>What one <see cref="TapStream.Pump"/> did.</summary>
internal enum TapPump
{
    /// <summary>Nothing waited in the tap, nothing was sent.</summary>
    Idle,

    /// <summary>Some bytes went to the client.</summary>
    Progress,

    /// <summary>Bytes wait and the client's socket has no room: the client is not reading.</summary>
    Blocked,

    /// <summary>The client left (EPIPE, ECONNRESET): close the connection.</summary>
    Gone,
}

/// <summary>
/// The sending side of one <c>tap</c> connection, on the control loop: lines taken from the
/// stage's <see cref="StageTap"/> into a fixed buffer and sent as the client's socket takes them.
/// </summary>
/// <remarks>
/// Bounded at both ends: the stage's ring holds what the loop has not taken yet (the stage drops
/// and counts what does not fit), and this buffer holds at most <see cref="BufferBytes"/> the
/// client has not taken. A client that takes nothing for the write deadline is cut off by the loop.
/// </remarks>
internal sealed class TapStream(StageTap tap)
{
    /// <summary>Half the stage's ring: the longest line the ring keeps always fits.</summary>
    public const int BufferBytes = StageTap.Capacity / 2;

    /// <summary>Buffers sent per turn at most, so a fast tap and a fast client cannot keep the loop from its other clients.</summary>
    private const int BuffersPerTurn = 4;

    private readonly byte[] _buffer = new byte[BufferBytes];
    private int _filled;
    private int _sent;

    public StageTap Tap { get; } = tap;

    /// <summary>Bytes wait for the client.</summary>
    public bool Pending => _sent < _filled;

    /// <summary>Takes lines from the tap and sends them without blocking, until the tap is empty or the socket is full.</summary>
    public unsafe TapPump Pump(int fd)
    {
        bool progress = false;
        for (int buffers = 0; buffers < BuffersPerTurn;)
        {
            if (_sent == _filled)
            {
                _sent = 0;
                _filled = Tap.Drain(_buffer);
                buffers++;
                if (_filled == 0)
                {
                    return progress ? TapPump.Progress : TapPump.Idle;
                }
            }

            nint sent;
            fixed (byte* start = _buffer)
            {
                sent = Libc.send(fd, start + _sent, (nuint)(_filled - _sent), Libc.MsgNoSignal | Libc.MsgDontWait);
            }

            if (sent < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Libc.EIntr)
                {
                    continue;
                }

                return errno == Libc.EAgain ? (progress ? TapPump.Progress : TapPump.Blocked) : TapPump.Gone;
            }

            _sent += (int)sent;
            progress = true;
        }

        return TapPump.Progress;
    }
}
