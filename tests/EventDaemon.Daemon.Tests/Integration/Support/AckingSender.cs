using System.Diagnostics;
using System.Net.Sockets;
using EventDaemon.Client;

namespace EventDaemon.Daemon.Tests.Integration.Support;

/// <summary>
/// A binary client that requests acks and sends frames numbered 0, 1, 2… (the number is the
/// frame's <c>value</c>; its key and event time follow from it: <see cref="KeyOf"/>,
/// <see cref="EventTimeOf"/>) flat out on its own thread. When the daemon dies under it, it reconnects
/// until a daemon is back on the port and resends what was not acked (EventClient.Reconnect). The
/// window is settled in order, so the acked frames are always the numbers below
/// <see cref="Acknowledged"/>; it remembers which numbers each reconnect resent.
/// </summary>
internal sealed class AckingSender(int port)
{
    /// <summary>Load enough to keep acks in flight at every kill, bounded so that the 200-kill run's
    /// file stays around a gigabyte.</summary>
    private const int FramesPerSecond = 100_000;

    /// <summary>Keys the frames cycle through (frame n has key <c>k{n % Keys}</c>).</summary>
    public const int Keys = 4;

    /// <summary>Event time of frame 0: a whole second, so frame n falls in window n / FramesPerEventSecond of 1 s windows.</summary>
    public const long EpochNanos = 1_800_000_000_000_000_000;

    /// <summary>Frames per second of event time: a frame's event time is its number, not the clock, so a resent frame keeps it.</summary>
    public const long FramesPerEventSecond = 100_000;

    private static readonly byte[][] KeyBytes = [.. Enumerable.Range(0, Keys).Select(k => System.Text.Encoding.ASCII.GetBytes(KeyOf(k)))];

    private readonly CancellationTokenSource _stop = new();
    private readonly List<(long From, long To)> _resent = [];
    private Thread? _thread;
    private EventClient? _client;
    private long _acknowledged;
    private Exception? _failure;

    /// <summary>Frames acked so far: the numbers 0 to this minus one.</summary>
    public long Acknowledged => Volatile.Read(ref _acknowledged);

    /// <summary>How many reconnects resent at least one frame.</summary>
    public int Reconnects => _resent.Count;

    /// <summary>The client, once <see cref="Stop"/> has returned (owned by the sending thread before).</summary>
    public EventClient Client => _client ?? throw new InvalidOperationException("the sender never started");

    /// <summary>Connects (a daemon must be listening) and starts sending.</summary>
    public void Start()
    {
        _client = EventClient.ConnectTcp("127.0.0.1", port, new EventClientOptions { RequestAcks = true });
        _thread = new Thread(Run) { IsBackground = true, Name = "acking sender" };
        _thread.Start();
    }

    /// <summary>Stops the sending thread; rethrows what it failed with, if anything but a broken connection.</summary>
    public void Stop()
    {
        _stop.Cancel();
        if (_thread is not null && !_thread.Join(TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException("the acking sender did not stop within 30 s");
        }

        if (_failure is not null)
        {
            throw new InvalidOperationException("the acking sender failed", _failure);
        }
    }

    /// <summary>After <see cref="Stop"/>: reconnects to the daemon now listening and resends what is unacked.</summary>
    public void ReconnectOnce() => Reconnect(Client);

    /// <summary>The key of frame <paramref name="n"/>.</summary>
    public static string KeyOf(long n) => "k" + (n % Keys).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The event time of frame <paramref name="n"/>, Unix nanoseconds.</summary>
    public static long EventTimeOf(long n) => EpochNanos + (n * 1_000_000_000 / FramesPerEventSecond);

    /// <summary>How many times frame <paramref name="n"/> was written again after a reconnect.</summary>
    public int Resends(long n)
    {
        int count = 0;
        foreach ((long from, long to) in _resent)
        {
            if (n >= from && n < to)
            {
                count++;
            }
        }

        return count;
    }

    private void Run()
    {
        EventClient client = _client!;
        byte[] type = "t"u8.ToArray();
        long started = Stopwatch.GetTimestamp();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    // Paced to FramesPerSecond on average: what a kill held back goes out in a burst after it.
                    long due = (long)(Stopwatch.GetElapsedTime(started).TotalSeconds * FramesPerSecond);
                    if (client.EventsAppended >= due)
                    {
                        client.PollAcks(TimeSpan.FromMilliseconds(1));
                        Publish(client);
                        continue;
                    }

                    for (int i = 0; i < 200; i++)
                    {
                        long n = client.EventsAppended;
                        client.SendFrame(new FrameEvent { Type = type, Key = KeyBytes[n % Keys], Timestamp = EventTimeOf(n), Value = n });
                    }

                    client.Flush();
                    Publish(client);
                }
                catch (Exception e) when (e is SocketException or IOException)
                {
                    // Killed under us: wait for the next daemon, then resend what it did not ack.
                    Publish(client);
                    while (!_stop.IsCancellationRequested && !TryReconnect(client))
                    {
                        _stop.Token.WaitHandle.WaitOne(10);
                    }
                }
            }
        }
        catch (Exception e)
        {
            _failure = e;
        }
    }

    private bool TryReconnect(EventClient client)
    {
        try
        {
            Reconnect(client);
            return true;
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            return false;
        }
    }

    private void Reconnect(EventClient client)
    {
        long from = client.EventsAppended - client.UnacknowledgedFrames;
        long resentBefore = client.FramesResent;
        try
        {
            client.Reconnect();
        }
        finally
        {
            // Counted even when the daemon dies during the resend: some of those frames went out.
            long resent = client.FramesResent - resentBefore;
            if (resent > 0)
            {
                _resent.Add((from, from + resent));
            }

            Publish(client);
        }
    }

    private void Publish(EventClient client) => Volatile.Write(ref _acknowledged, client.EventsAppended - client.UnacknowledgedFrames);
}
