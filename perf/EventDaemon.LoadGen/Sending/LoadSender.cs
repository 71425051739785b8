using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using EventDaemon.Client;
using EventDaemon.LoadGen.Generation;
using EventDaemon.LoadGen.Interop;
using EventDaemon.LoadGen.Measurement;

namespace EventDaemon.LoadGen.Sending;

/// <summary>
/// Sends a <see cref="SendPlan"/>: one thread and one connection per <see cref="SendPlan.Connections"/>,
/// either flat out or on a fixed-rate schedule.
/// </summary>
/// <remarks>
/// <para>
/// On a schedule, event <c>i</c> of a connection is due at <c>start + i / rate</c> and carries that
/// intended time as its <c>ts</c>, whenever it actually leaves. A sender that falls behind (the
/// receiver pushed back, or this thread woke late) sends everything due at once and the receiver
/// measures from the intended times: the stall shows up in the latency of every event it delayed,
/// which is the coordinated-omission correction. Connections are offset by a fraction of the
/// interval so their events interleave.
/// </para>
/// <para>
/// Between due times the thread sleeps on an absolute CLOCK_MONOTONIC deadline with 1 ns of timer
/// slack. It never spins: the sender shares two cores with the process under test.
/// </para>
/// </remarks>
internal static class LoadSender
{
    /// <summary>Runs <paramref name="plan"/> on a thread of its own; join it, then read the result.</summary>
    public static (Thread Thread, Func<SendResult> Result) Start(SendPlan plan)
    {
        SendResult? result = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = Run(plan);
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                // A refused connect or a reset: said here, and the caller's Result throws, so the
                // harness fails the row and stops what it started instead of the process aborting.
                Console.Error.WriteLine($"eventd-loadgen: sender: {e.Message}");
            }
        })
        { Name = "sender", IsBackground = true };
        thread.Start();
        return (thread, () => result ?? throw new InvalidOperationException("the sender failed; see its error above"));
    }

    public static SendResult Run(SendPlan plan)
    {
        if (plan.Acks)
        {
            return RunAcked(plan);
        }

        var sockets = new Socket[plan.Connections];
        for (int c = 0; c < sockets.Length; c++)
        {
            sockets[c] = plan.Target.Connect();
            sockets[c].SendTimeout = 30_000;
        }

        var states = new ConnectionState[plan.Connections];
        var threads = new Thread[plan.Connections];
        long start = plan.StartNs != 0 ? plan.StartNs : Clock.NowNs() + 1_000_000;
        long end = start + (long)(plan.Duration.TotalSeconds * 1e9);
        for (int c = 0; c < threads.Length; c++)
        {
            var state = new ConnectionState(plan, sockets[c], c, start, end);
            states[c] = state;
            threads[c] = new Thread(state.Run) { Name = $"send-{c}", IsBackground = true };
            threads[c].Start();
        }

        foreach (Thread t in threads)
        {
            t.Join();
        }

        long finished = Clock.NowNs();
        foreach (Socket s in sockets)
        {
            try
            {
                if (s.SocketType == SocketType.Stream)
                {
                    s.Shutdown(SocketShutdown.Send);
                }
            }
            catch (SocketException)
            {
            }

            s.Dispose();
        }

        return new SendResult(
            states.Sum(s => s.Events),
            states.Sum(s => s.Bytes),
            start,
            plan.Rate > 0 ? end : finished,
            states.Max(s => s.MaxLagNs),
            states.Sum(s => s.Errors));
    }

    /// <summary>
    /// With acks: one <see cref="EventClient"/> per connection, frames appended and written as
    /// without acks (flat out in batches, or at a fixed rate frame by frame or in paced steps, see
    /// <see cref="SendPlan.AckPaceNs"/>). At the end each connection half-closes and reads its acks
    /// until the daemon closes: every frame should be settled.
    /// </summary>
    private static SendResult RunAcked(SendPlan plan)
    {
        if (plan.Target.IsDatagram)
        {
            throw new ArgumentException("acks need a stream connection (tcp:// or unix://)");
        }

        var states = new AckedConnection[plan.Connections];
        var threads = new Thread[plan.Connections];
        long start = plan.StartNs != 0 ? plan.StartNs : Clock.NowNs() + 1_000_000;
        long end = start + (long)(plan.Duration.TotalSeconds * 1e9);
        for (int c = 0; c < threads.Length; c++)
        {
            states[c] = new AckedConnection(plan, c, start, end);
            threads[c] = new Thread(states[c].Run) { Name = $"send-{c}", IsBackground = true };
        }

        foreach (Thread t in threads)
        {
            t.Start();
        }

        foreach (Thread t in threads)
        {
            t.Join();
        }

        long finished = Clock.NowNs();
        var latency = new HdrHistogram.LongHistogram(1, 60_000_000_000, 3);
        foreach (AckedConnection state in states)
        {
            latency.Add(state.Latency.Histogram);
        }

        return new SendResult(
            states.Sum(s => s.Events),
            states.Sum(s => s.Bytes),
            start,
            plan.Rate > 0 ? end : finished,
            states.Max(s => s.MaxLagNs),
            states.Sum(s => s.Errors))
        {
            AckLatency = latency,
            Acknowledged = states.Sum(s => s.Acknowledged),
            Unacknowledged = states.Sum(s => s.Unacknowledged),
        };
    }

    private sealed class AckedConnection(SendPlan plan, int index, long start, long end)
    {
        public long Events;
        public long Bytes;
        public long MaxLagNs;
        public long Errors;
        public long Acknowledged;
        public long Unacknowledged;

        // Stopwatch and the monotonic ns clock both read CLOCK_MONOTONIC: the warm-up's end in Stopwatch ticks.
        public AckLatency Latency { get; } = new(Stopwatch.GetTimestamp()
            + (long)((start - Clock.NowNs() + plan.WarmupSeconds * 1e9) / 1e9 * Stopwatch.Frequency));

        public void Run()
        {
            Clock.TightenTimerSlack();
            EventClient? client = null;
            try
            {
                client = EventClient.Connect(plan.Target.EndPoint, new EventClientOptions
                {
                    BatchBytes = plan.BatchBytes,
                    RequestAcks = true,
                    AckObserver = Latency,
                });
                Send(client);
                client.Complete();
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                Errors++;
            }
            finally
            {
                if (client is not null)
                {
                    Bytes = client.BytesSent;
                    Acknowledged = client.FramesAcknowledged;
                    Unacknowledged = client.UnacknowledgedFrames;
                    client.Dispose();
                }
            }
        }

        private void Send(EventClient client)
        {
            if (plan.Rate > 0 && plan.AckPaceNs > 0)
            {
                SendPaced(client);
                return;
            }

            EventPool pool = plan.Pool;
            byte[] frame = new byte[pool.MaxLength];
            double interval = plan.Rate > 0 ? plan.Connections * 1e9 / plan.Rate : 0;
            long first = start + (plan.Rate > 0 ? (long)(index * interval / plan.Connections) : 0);
            long i = 0;
            int cursor = pool.StartCursor(index, plan.Connections);
            long due = first;
            while (true)
            {
                long now = Clock.NowNs();
                if (plan.Rate > 0 ? due >= end : now >= end)
                {
                    return;
                }

                if (plan.Rate > 0 && due > now)
                {
                    // Nothing due: read acks as they come (poll's granularity is a millisecond, so
                    // the last stretch is slept on the precise clock).
                    long waitNs = due - now;
                    if (waitNs > 1_500_000 && client.UnacknowledgedFrames > 0)
                    {
                        client.PollAcks(TimeSpan.FromTicks((waitNs - 1_000_000) / 100));
                    }
                    else
                    {
                        Clock.SleepUntil(due);
                    }

                    continue;
                }

                if (plan.Rate > 0)
                {
                    MaxLagNs = Math.Max(MaxLagNs, now - due);
                    due = AppendDue(client, frame, ref cursor, ref i, due, now, first, interval);

                    client.Flush();
                }
                else
                {
                    long unix = Clock.ToUnix(now);
                    for (int n = 0; n < 256; n++)
                    {
                        int length = pool.Write(ref cursor, unix, frame);
                        client.SendEncodedFrame(frame.AsSpan(0, length));
                        Events++;
                    }
                }
            }
        }

        /// <summary>Appends every frame due by <paramref name="now"/> (and before the end), each with its
        /// due time as its <c>ts</c>; returns the next frame's due time.</summary>
        private long AppendDue(EventClient client, byte[] frame, ref int cursor, ref long i, long due, long now, long first, double interval)
        {
            while (due <= now && due < end)
            {
                int length = plan.Pool.Write(ref cursor, Clock.ToUnix(due), frame);
                client.SendEncodedFrame(frame.AsSpan(0, length));
                Events++;
                i++;
                due = first + (long)(i * interval);
            }

            return due;
        }

        /// <summary>
        /// Paced: at each step (every <see cref="SendPlan.AckPaceNs"/> from the first frame's due
        /// time) the frames that fell due are appended, each stamped by the client with its own
        /// append time, and written in one write; until the next step the thread waits on the
        /// socket and reads acks as they arrive. One wake per step and one per ack, instead of
        /// one per frame: on two cores the sender then leaves the daemon's syncer its core.
        /// </summary>
        /// <remarks>
        /// A frame leaves up to one step after its due time (its <c>ts</c> keeps the intended
        /// time), but its ack latency is measured from its append, so the pacing is not charged to
        /// the daemon; the rate over any window longer than a step is the plan's. The lag recorded
        /// is how late a step woke, not the pacing's own delay.
        /// </remarks>
        private void SendPaced(EventClient client)
        {
            EventPool pool = plan.Pool;
            byte[] frame = new byte[pool.MaxLength];
            double interval = plan.Connections * 1e9 / plan.Rate;
            long first = start + (long)(index * interval / plan.Connections);
            long pace = plan.AckPaceNs;
            long i = 0;
            int cursor = pool.StartCursor(index, plan.Connections);
            long due = first;
            long step = first;

            // The client keeps this connection until it is disposed (the sender never reconnects).
            var poll = new Libc.PollFd { Fd = (int)client.SocketHandle.DangerousGetHandle(), Events = Libc.PollIn };
            while (due < end)
            {
                long now = Clock.NowNs();
                if (now < step)
                {
                    WaitForAcks(client, ref poll, step - now);
                    continue;
                }

                MaxLagNs = Math.Max(MaxLagNs, now - step);
                due = AppendDue(client, frame, ref cursor, ref i, due, now, first, interval);

                client.Flush();

                // The next step on the grid after now: a late wake does not turn the steps it
                // missed into writes back to back (what fell due in them went in this one).
                step += pace * (((now - step) / pace) + 1);
            }
        }

        /// <summary>
        /// Waits up to <paramref name="timeoutNs"/> for the socket to turn readable, and reads the
        /// acks that arrived (a close or a reset surfaces as the read's exception). <c>ppoll</c>,
        /// because <see cref="EventClient.PollAcks"/> waits in whole milliseconds; with the thread's
        /// timer slack at 1 ns the kernel's own slack is 0.1 % of the wait.
        /// </summary>
        private static void WaitForAcks(EventClient client, ref Libc.PollFd poll, long timeoutNs)
        {
            var timeout = new Libc.Timespec { Seconds = timeoutNs / 1_000_000_000, Nanoseconds = timeoutNs % 1_000_000_000 };
            poll.ReturnedEvents = 0;
            int ready = Libc.ppoll(ref poll, 1, in timeout, IntPtr.Zero);
            if (ready > 0)
            {
                client.PollAcks();
            }
            else if (ready < 0 && Marshal.GetLastPInvokeError() != Libc.EIntr)
            {
                throw new IOException($"ppoll on the acked connection failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
    }

    private sealed class ConnectionState(SendPlan plan, Socket socket, int index, long start, long end)
    {
        public long Events;
        public long Bytes;
        public long MaxLagNs;
        public long Errors;

        public void Run()
        {
            Clock.TightenTimerSlack();
            try
            {
                if (plan.Target.IsDatagram)
                {
                    RunDatagrams();
                }
                else if (plan.Rate > 0)
                {
                    RunScheduled();
                }
                else
                {
                    RunFlatOut();
                }
            }
            catch (SocketException)
            {
                Errors++;
            }
        }

        private void RunFlatOut()
        {
            EventPool pool = plan.Pool;
            byte[] batch = new byte[Math.Max(plan.BatchBytes, pool.MaxLength)];
            Span<byte> digits = stackalloc byte[EventPool.TsDigits];
            int cursor = pool.StartCursor(index, plan.Connections);
            while (true)
            {
                long now = Clock.NowNs();
                if (now >= end)
                {
                    return;
                }

                // One timestamp per batch: flat out, the time a batch is formed is when its events leave.
                long unix = Clock.ToUnix(now);
                EventPool.FormatTs(unix, digits);
                int fill = 0;
                int n = 0;
                while (batch.Length - fill >= pool.MaxLength)
                {
                    fill += pool.Write(ref cursor, unix, digits, batch.AsSpan(fill));
                    n++;
                }

                SendAll(batch.AsSpan(0, fill));
                Events += n;
            }
        }

        private void RunScheduled()
        {
            EventPool pool = plan.Pool;
            byte[] batch = new byte[Math.Max(plan.BatchBytes, pool.MaxLength)];
            double interval = plan.Connections * 1e9 / plan.Rate;
            long first = start + (long)(index * interval / plan.Connections);
            long i = 0;
            int cursor = pool.StartCursor(index, plan.Connections);
            long due = first;
            while (due < end)
            {
                long now = Clock.NowNs();
                if (due > now)
                {
                    Clock.SleepUntil(due);
                    continue;
                }

                MaxLagNs = Math.Max(MaxLagNs, now - due);
                int fill = 0;
                int n = 0;
                while (due <= now && due < end && batch.Length - fill >= pool.MaxLength)
                {
                    fill += pool.Write(ref cursor, Clock.ToUnix(due), batch.AsSpan(fill));
                    n++;
                    i++;
                    due = first + (long)(i * interval);
                }

                SendAll(batch.AsSpan(0, fill));
                Events += n;
            }
        }

        private void RunDatagrams()
        {
            EventPool pool = plan.Pool;
            byte[] datagram = new byte[pool.MaxLength];
            double interval = plan.Rate > 0 ? plan.Connections * 1e9 / plan.Rate : 0;
            long first = start + (plan.Rate > 0 ? (long)(index * interval / plan.Connections) : 0);
            long i = 0;
            int cursor = pool.StartCursor(index, plan.Connections);
            while (true)
            {
                long now = Clock.NowNs();
                long due = plan.Rate > 0 ? first + (long)(i * interval) : now;
                if (due >= end)
                {
                    return;
                }

                if (due > now)
                {
                    Clock.SleepUntil(due);
                    continue;
                }

                MaxLagNs = Math.Max(MaxLagNs, now - due);
                int length = pool.Write(ref cursor, Clock.ToUnix(due), datagram);
                try
                {
                    socket.Send(datagram.AsSpan(0, length), SocketFlags.None);
                    Bytes += length;
                    Events++;
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.NoBufferSpaceAvailable)
                {
                    Errors++;
                }

                i++;
            }
        }

        private void SendAll(ReadOnlySpan<byte> bytes)
        {
            Bytes += bytes.Length;
            while (!bytes.IsEmpty)
            {
                bytes = bytes[socket.Send(bytes, SocketFlags.None)..];
            }
        }
    }
}
