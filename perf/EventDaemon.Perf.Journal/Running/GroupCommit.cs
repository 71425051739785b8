using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EventDaemon.Perf.Journal.Format;
using EventDaemon.Perf.Journal.Internal;
using EventDaemon.Perf.Journal.Interop;
using EventDaemon.Perf.Journal.Methods;
using HdrHistogram;

namespace EventDaemon.Perf.Journal.Running;

/// <summary>
/// One run of the journal's write path: a writer thread copies events into groups through
/// <typeparamref name="TMethod"/>, and (in <see cref="SyncMode.GroupCommit"/>) a syncer thread
/// makes them durable one sync after another, each covering everything written before it began.
/// </summary>
/// <remarks>
/// The writer publishes each group with a stamp (end offset, first sequence, count, write time)
/// in a ring the syncer reads; the writer never waits for the syncer except, when paced, if that
/// ring is full (counted, and zero in every run so far). The syncer sleeps on a futex when it has
/// caught up, and the writer wakes it only when it says it is asleep.
/// </remarks>
internal sealed unsafe class GroupCommit<TMethod>
    where TMethod : struct, IWriteMethod<TMethod>
{
    private const int StampCount = 1 << 16;
    private const int StampMask = StampCount - 1;

    /// <summary>Spins of the syncer before it sleeps: a sync takes ~100 µs, a spin well under one.</summary>
    private const int SyncerSpins = 64;

    /// <summary>The syncer's futex wait is bounded so that a lost wake-up costs 1 ms, not the run.</summary>
    private const long SyncerSleepNs = 1_000_000;

    private readonly TMethod _method;
    private readonly EventCorpus _corpus;
    private readonly long _capacity;
    private readonly GroupStamp[] _stamps = new GroupStamp[StampCount];

    /// <summary>[0]: the doorbell the writer rings after each group; [32]: 1 while the syncer sleeps
    /// on it. Pinned, because the futex holds their address; 128 bytes apart.</summary>
    private readonly int[] _bell = GC.AllocateArray<int>(64, pinned: true);

    // Written by the writer only (release), read by the syncer (acquire): groups published.
    private PaddedLong _groups;

    // Written by the syncer only (release): groups durable.
    private PaddedLong _durableGroups;

    private volatile bool _writerDone;
    private long _pacedStartNs;

    public GroupCommit(TMethod method, EventCorpus corpus, long capacity)
    {
        _method = method;
        _corpus = corpus;
        _capacity = capacity;
    }

    private ref int Bell => ref _bell[0];

    private ref int SyncerAsleep => ref _bell[32];

    /// <summary>Writes flat out for <paramref name="seconds"/> or until the segment is full.</summary>
    public RunResult RunFlatOut(SyncMode mode, double seconds)
    {
        WriterResult writer = default;
        SyncerResult syncer = default;
        var writerThread = new Thread(() => writer = WriteFlatOut(mode, (long)(seconds * 1e9))) { Name = "journal-writer" };
        Thread? syncerThread = mode == SyncMode.GroupCommit
            ? new Thread(() => syncer = SyncBackToBack(latency: false)) { Name = "journal-syncer" }
            : null;
        syncerThread?.Start();
        writerThread.Start();
        writerThread.Join();
        syncerThread?.Join();
        return new RunResult(TMethod.Name, mode, writer, syncer);
    }

    /// <summary>Writes <paramref name="rate"/> records a second for <paramref name="seconds"/>, with the syncer measuring time to durable.</summary>
    public RunResult RunPaced(long rate, double seconds)
    {
        WriterResult writer = default;
        SyncerResult syncer = default;
        long total = (long)(rate * seconds);
        _pacedStartNs = Clock.NowNs() + 5_000_000;
        var writerThread = new Thread(() => writer = WritePaced(rate, total)) { Name = "journal-writer" };
        var syncerThread = new Thread(() => syncer = SyncBackToBack(latency: true, rate)) { Name = "journal-syncer" };
        syncerThread.Start();
        writerThread.Start();
        writerThread.Join();
        syncerThread.Join();
        return new RunResult(TMethod.Name, SyncMode.GroupCommit, writer, syncer);
    }

    private WriterResult WriteFlatOut(SyncMode mode, long durationNs)
    {
        const int Count = RunSettings.FlatGroupRecords;
        long groupBytes = GroupHeader.Size + (long)Count * EventCorpus.RecordBytes;
        long offset = 0, sequence = 0, groups = 0, syncedOffset = 0, syncedSequence = 0, syncs = 0;

        // The first group is written before counting starts, so that any lazy binding of the
        // native calls is not charged to the loop.
        offset = WriteGroup(offset, sequence, Count, Clock.NowNs());
        sequence += Count;
        Publish(offset, sequence - Count, Count, 0, ref groups);

        long allocated = GC.GetAllocatedBytesForCurrentThread();
        long start = Clock.NowNs();
        long deadline = start + durationNs;
        long now = start;
        long firstSequence = sequence;
        while (offset + groupBytes <= _capacity && now < deadline)
        {
            offset = WriteGroup(offset, sequence, Count, now);
            sequence += Count;
            Publish(offset, sequence - Count, Count, now, ref groups);
            if (mode == SyncMode.Inline && sequence - syncedSequence >= RunSettings.InlineSyncRecords)
            {
                _method.Sync(syncedOffset, offset);
                syncedOffset = offset;
                syncedSequence = sequence;
                syncs++;
            }

            now = Clock.NowNs();
        }

        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Finish();
        return new WriterResult(sequence - firstSequence, offset, sequence, now - start, allocated, 0, syncs);
    }

    private WriterResult WritePaced(long rate, long total)
    {
        Clock.TightenTimerSlack();
        long start = _pacedStartNs;
        long offset = 0, sequence = 0, groups = 0, stalls = 0;
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        while (sequence < total)
        {
            long now = Clock.NowNs();
            long due = now < start ? 0 : Math.Min(total, (now - start) * rate / 1_000_000_000 + 1);
            if (due <= sequence)
            {
                Clock.SleepUntil(start + sequence * 1_000_000_000 / rate);
                continue;
            }

            if (groups - Volatile.Read(ref _durableGroups.Value) >= StampCount)
            {
                stalls++;
                Thread.Yield();
                continue;
            }

            int count = (int)Math.Min(due - sequence, RunSettings.PacedGroupRecords);
            offset = WriteGroup(offset, sequence, count, now);
            Publish(offset, sequence, count, now, ref groups);
            sequence += count;
        }

        long elapsed = Clock.NowNs() - start;
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Finish();
        return new WriterResult(sequence, offset, sequence, elapsed, allocated, stalls, 0);
    }

    /// <summary>Builds one group of <paramref name="count"/> records at <paramref name="offset"/> and
    /// hands it to the kernel; returns the offset past it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long WriteGroup(long offset, long firstSequence, int count, long writeTimeNs)
    {
        int recordBytes = count * EventCorpus.RecordBytes;
        if (offset + GroupHeader.Size + recordBytes > _capacity)
        {
            ThrowHelper.SegmentFull(offset, _capacity);
        }

        int position = 0;
        for (int i = 0; i < count; i++)
        {
            long sequence = firstSequence + i;
            ReadOnlySpan<byte> payload = _corpus.Event(sequence);
            var header = new RecordHeader
            {
                Length = (uint)payload.Length,
                Sequence = sequence,
                EventTimeNs = _corpus.EventTime(sequence),
                IngestTimeNs = writeTimeNs,
                Source = 1,
            };
            header.Crc = Record.Crc(in header, payload);
            _method.PutRecord(offset, position, i, in header, payload);
            position += EventCorpus.RecordBytes;
        }

        Span<byte> head = _method.GroupHeader(offset);
        var group = new GroupHeader
        {
            Magic = GroupHeader.MagicValue,
            FirstSequence = firstSequence,
            RecordCount = (uint)count,
            RecordBytes = (uint)recordBytes,
            WriteTimeNs = writeTimeNs,
        };
        MemoryMarshal.Write(head, in group);
        BinaryPrimitives.WriteUInt32LittleEndian(head[4..], Crc32C.SkippingField(head));
        _method.Write(offset, recordBytes, count);
        return offset + GroupHeader.Size + recordBytes;
    }

    /// <summary>Stamps the group, publishes it, and wakes the syncer if it sleeps.</summary>
    /// <remarks>The increment of the bell is a full fence: either the syncer sees the new group
    /// before it sleeps, or this sees it asleep and wakes it (or the bell has moved and its
    /// futex wait returns at once).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Publish(long end, long firstSequence, int count, long writeTimeNs, ref long groups)
    {
        ref GroupStamp stamp = ref _stamps[groups & StampMask];
        stamp.End = end;
        stamp.FirstSequence = firstSequence;
        stamp.Count = count;
        stamp.WriteTimeNs = writeTimeNs;
        groups++;
        Volatile.Write(ref _groups.Value, groups);
        Interlocked.Increment(ref Bell);
        if (Volatile.Read(ref SyncerAsleep) != 0)
        {
            WakeSyncer();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WakeSyncer()
    {
        fixed (int* bell = &Bell)
        {
            Libc.futex(Libc.SysFutex, bell, Libc.FutexWakePrivate, 1, null, 0, 0);
        }
    }

    private void Finish()
    {
        _writerDone = true;
        Interlocked.Increment(ref Bell);
        WakeSyncer();
    }

    /// <summary>The syncer: one sync after another, each covering every group published when it began.</summary>
    private SyncerResult SyncBackToBack(bool latency, long rate = 0)
    {
        var sinceWrite = new LongHistogram(HistogramMaxNs, 3);
        var sinceArrival = new LongHistogram(HistogramMaxNs, 3);
        var syncTimes = new LongHistogram(HistogramMaxNs, 3);
        long synced = 0, durableEnd = 0, syncs = 0, records = 0;
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        while (true)
        {
            long published = Volatile.Read(ref _groups.Value);
            if (published == synced)
            {
                if (_writerDone && Volatile.Read(ref _groups.Value) == synced)
                {
                    break;
                }

                Wait(synced);
                continue;
            }

            // The last stamp published says how far this sync reaches. The writer cannot lap the
            // ring under it: flat out a segment holds fewer groups than the ring has stamps, and
            // paced the writer waits for the syncer before it would.
            GroupStamp last = _stamps[(published - 1) & StampMask];
            long start = Clock.NowNs();
            _method.Sync(durableEnd, last.End);
            long durable = Clock.NowNs();
            syncTimes.RecordValue(Math.Max(1, durable - start));
            syncs++;
            if (latency)
            {
                for (long g = synced; g < published; g++)
                {
                    ref GroupStamp stamp = ref _stamps[g & StampMask];
                    sinceWrite.RecordValueWithCount(Math.Max(1, durable - stamp.WriteTimeNs), stamp.Count);
                    for (int i = 0; i < stamp.Count; i++)
                    {
                        long arrival = _pacedStartNs + (stamp.FirstSequence + i) * 1_000_000_000 / rate;
                        sinceArrival.RecordValue(Math.Max(1, durable - arrival));
                    }

                    records += stamp.Count;
                }
            }
            else
            {
                records = last.FirstSequence + last.Count;
            }

            durableEnd = last.End;
            synced = published;
            Volatile.Write(ref _durableGroups.Value, synced);
        }

        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        return new SyncerResult(syncs, records, allocated, syncTimes, latency ? sinceWrite : null, latency ? sinceArrival : null);
    }

    /// <summary>Spins briefly, then sleeps on the bell until the writer publishes or finishes.</summary>
    private void Wait(long synced)
    {
        for (int i = 0; i < SyncerSpins; i++)
        {
            Thread.SpinWait(20);
            if (Volatile.Read(ref _groups.Value) != synced || _writerDone)
            {
                return;
            }
        }

        int bell = Volatile.Read(ref Bell);
        Interlocked.Exchange(ref SyncerAsleep, 1);
        if (Volatile.Read(ref _groups.Value) == synced && !_writerDone)
        {
            var timeout = new Libc.Timespec { Seconds = 0, Nanoseconds = SyncerSleepNs };
            fixed (int* address = &Bell)
            {
                Libc.futex(Libc.SysFutex, address, Libc.FutexWaitPrivate, bell, &timeout, 0, 0);
            }
        }

        Volatile.Write(ref SyncerAsleep, 0);
    }

    /// <summary>10 s in nanoseconds: no sync on a healthy disk comes near it.</summary>
    private const long HistogramMaxNs = 10_000_000_000;
}
