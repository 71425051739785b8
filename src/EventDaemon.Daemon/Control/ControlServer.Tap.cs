using System.Globalization;
using System.Runtime.InteropServices;
using EventDaemon.Daemon.Control.Internal;
using EventDaemon.Daemon.Interop;
using EventDaemon.Daemon.Runtime;

namespace EventDaemon.Daemon.Control;

/// <summary>
/// <c>tap NAME [sample N]</c> on the control loop: the one command whose connection stays open.
/// NAME is a source, a stage, a route's output (<c>route.output</c>) or a sink. The loop attaches
/// its <see cref="StageTap"/>, then every turn (at least every
/// <see cref="TapIntervalMs"/> while a client taps) moves what the stage copied to the client, as
/// the client's socket takes it. Nothing here blocks: the other clients are served in the same turns.
/// </summary>
public sealed partial class ControlServer
{
    /// <summary>The reply's first words when the target names nothing that can be tapped: the client exits 2 on it.</summary>
    public const string UnknownTapTarget = "error: unknown tap target";

    private void StartTap(ControlConnection connection, string command, long now)
    {
        if (!MayChangeState(connection.Fd, ControlCommands.Tap, out string? refusal))
        {
            Reply(connection, refusal, now);
            return;
        }

        string[] words = command.Split(' ');
        long sample = 1;
        bool usable = words.Length == 2
            || (words.Length == 4 && words[2] == "sample" && long.TryParse(words[3], NumberStyles.None, CultureInfo.InvariantCulture, out sample) && sample >= 1);
        if (!usable)
        {
            Reply(connection, "error: usage: tap NAME [sample N] (a source, stage, route.output or sink; N >= 1 keeps 1 event in N)", now);
            return;
        }

        string stage = words[1];
        StageTap? tap = _target.FindTap(stage, out IReadOnlyList<string> tappable);
        if (tap is null)
        {
            string valid = tappable.Count == 0 ? "none in this config" : string.Join(", ", tappable);
            Reply(connection, $"{UnknownTapTarget} '{Echo(stage)}'; sources, stages, route outputs and sinks that can be tapped: {valid}", now);
            return;
        }

        if (!tap.TryAttach(sample))
        {
            Reply(connection, $"error: '{stage}' is already tapped by another client", now);
            return;
        }

        connection.StartTapping(new TapStream(tap), now + _writeDeadlineMs);
    }

    /// <summary>Poll said something about a tapping connection: the client left, sent bytes (ignored), or its socket has room.</summary>
    private unsafe void ServeTap(ControlConnection connection, short events, long now)
    {
        if ((events & (Libc.PollIn | Libc.PollHup | Libc.PollErr)) != 0)
        {
            byte* scratch = stackalloc byte[256];
            nint received = Libc.recv(connection.Fd, scratch, 256, Libc.MsgDontWait);
            if (received == 0 || (received < 0 && Marshal.GetLastPInvokeError() is not (Libc.EAgain or Libc.EIntr)))
            {
                // The client closed (--limit reached, Ctrl-C): detach so the stage stops copying.
                Close(connection);
                return;
            }
        }

        Pump(connection, now);
    }

    private void PumpTaps(long now)
    {
        foreach (ControlConnection connection in _connections)
        {
            if (connection.State == ConnectionState.Tapping)
            {
                Pump(connection, now);
            }
        }
    }

    private void Pump(ControlConnection connection, long now)
    {
        TapStream stream = connection.Tap!;
        switch (stream.Pump(connection.Fd))
        {
            case TapPump.Progress:
            case TapPump.Idle:
                // The deadline counts from the last time the client took something or nothing waited.
                connection.Deadline = now + _writeDeadlineMs;
                break;
            case TapPump.Gone:
                Close(connection);
                break;
        }
    }
}
