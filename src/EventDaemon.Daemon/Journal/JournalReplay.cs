using EventDaemon.Events;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Ingest;

namespace EventDaemon.Daemon.Journal;

/// <summary>
/// Feeds journaled events back into the main ring at start, before the sources bind: each record is
/// decoded again from its original bytes (JSON line or binary frame, by its flags) and keeps its
/// event time, its ingest time and its source, so stages that read times see what they saw the
/// first time. The returned map says which journal sequence each ring sequence carries.
/// </summary>
public static class JournalReplay
{
    /// <summary>What a replay did.</summary>
    /// <param name="Replayed">Events appended to the ring.</param>
    /// <param name="Undecodable">Records whose bytes no longer decode (skipped, counted).</param>
    public sealed record Result(long Replayed, long Undecodable, SequenceMap Map);

    /// <param name="reader">Positioned at the first record to replay.</param>
    /// <param name="nextSequence">The journal sequence live events start at (one past the last journaled).</param>
    /// <param name="wallOffsetNanos">Unix time minus the monotonic clock now: ingest times are journaled as Unix time.</param>
    /// <param name="progress">Called every 65 536 events with the count so far (stats and the log).</param>
    public static Result Run(JournalReader reader, EventRing ring, int maxEventBytes, long nextSequence, long wallOffsetNanos, Action<long>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(ring);
        var map = new SequenceMap();
        long replayed = 0;
        long undecodable = 0;
        IngestBatch batch = ring.BeginBatch(runIdleStages: false);
        try
        {
            while (reader.TryRead(out JournalEntry entry, out ReadOnlySpan<byte> payload))
            {
                var slot = default(EventSlot);
                if (!Decode(payload, (EventFlags)entry.Flags, maxEventBytes, ref slot))
                {
                    undecodable++;
                    continue;
                }

                slot.Timestamp = entry.EventNanos;
                slot.IngestNanos = entry.IngestNanos - wallOffsetNanos;
                slot.SourceId = entry.Source;
                slot.PayloadLength = payload.Length;
                map.Start(ring.Sequencer.Cursor.Value + 1 + batch.Count, entry.Sequence);
                batch.TryAppend(ref slot, payload, wait: true);
                replayed++;
                if ((replayed & 0xFFFF) == 0)
                {
                    // Publish what is decoded so far: the ring is bounded, its consumers must see it.
                    batch.Dispose();
                    progress?.Invoke(replayed);
                    batch = ring.BeginBatch(runIdleStages: false);
                }
            }
        }
        finally
        {
            batch.Dispose();
        }

        map.StartLive(ring.Sequencer.Cursor.Value + 1, nextSequence);
        return new Result(replayed, undecodable, map);
    }

    internal static bool Decode(ReadOnlySpan<byte> payload, EventFlags flags, int maxEventBytes, ref EventSlot slot)
    {
        if ((flags & EventFlags.Binary) != 0)
        {
            return BinaryFrameDecoder.DecodeOne(payload, maxEventBytes, ref slot, out int length, out InvalidReason invalid) == FrameError.None
                && invalid == InvalidReason.None && length == payload.Length;
        }

        return JsonEventParser.TryParse(payload, ref slot, out _);
    }
}
