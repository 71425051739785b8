using System.Net.Sockets;
using EventDaemon.LoadGen.Generation;
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
        var thread = new Thread(() => result = Run(plan)) { Name = "sender", IsBackground = true };
        thread.Start();
        return (thread, () => result ?? throw new InvalidOperationException("the sender failed; see its error above"));
    }

    public static SendResult Run(SendPlan plan)
    {
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
