using System.Text;
using EventDaemon.Events;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Ingest;
using Xunit;

namespace EventDaemon.Stages.Tests.Transforms;

/// <summary>
/// An event ring without consumers, for driving a stage's handler directly: events go in as a
/// source would put them (decoded by the real JSON parser, bytes in the arena), and the test hands
/// each slot to <c>OnEvent</c> itself. Nothing gates the producer, so the ring simply wraps: a
/// slot stays valid until <see cref="Capacity"/> more events were appended.
/// </summary>
internal sealed class TestRing : IDisposable
{
    public TestRing(int slots = 1024, long arenaBytes = 1 << 20)
    {
        Ring = new EventRing(slots, arenaBytes, lockMemory: false, notifyOnPublish: false);
    }

    public EventRing Ring { get; }

    public int Capacity => Ring.Capacity;

    /// <summary>The last published sequence (-1 before the first event).</summary>
    public long Cursor => Ring.Sequencer.Cursor.Value;

    public ref EventSlot this[long sequence] => ref Ring.Slots[sequence];

    /// <summary>
    /// Appends one JSON line as a source would: decoded, stamped with its source and ingest time,
    /// <c>ts</c> defaulting to <paramref name="defaultTimestamp"/>. Returns its sequence.
    /// </summary>
    public long AppendJson(string json, ushort sourceId = 0, long defaultTimestamp = 0)
    {
        byte[] line = Encoding.UTF8.GetBytes(json);
        var slot = default(EventSlot);
        bool parsed = JsonEventParser.TryParse(line, ref slot, out InvalidReason reason);
        Assert.True(parsed, $"test event should be valid for the ingest parser but was rejected ({reason}): {json}");
        if ((slot.Flags & EventFlags.HasTimestamp) == 0)
        {
            slot.Timestamp = defaultTimestamp;
        }

        slot.SourceId = sourceId;
        return Append(ref slot, line);
    }

    /// <summary>Appends a slot whose well-known fields are already filled in, with its payload bytes.</summary>
    public long Append(ref EventSlot decoded, ReadOnlySpan<byte> payload)
    {
        decoded.IngestNanos = MonotonicClock.NowNanos();
        using (IngestBatch batch = Ring.BeginBatch())
        {
            bool appended = batch.TryAppend(ref decoded, payload, wait: false);
            Assert.True(appended, "a ring without consumers always has room");
        }

        return Cursor;
    }

    /// <summary>A binary-frame event: type and/or key as raw UTF-8 (not JSON-escaped) inside an opaque payload.</summary>
    public long AppendBinary(string? type, string? key, double? value = null, long timestamp = 0, ushort sourceId = 0)
    {
        byte[] typeBytes = type is null ? [] : Encoding.UTF8.GetBytes(type);
        byte[] keyBytes = key is null ? [] : Encoding.UTF8.GetBytes(key);
        byte[] payload = [.. "FRAME"u8, .. typeBytes, .. keyBytes];
        var slot = new EventSlot
        {
            Timestamp = timestamp,
            Flags = EventFlags.Binary | EventFlags.HasTimestamp,
            TypeOffset = 5,
            TypeLength = (ushort)typeBytes.Length,
            KeyOffset = 5 + typeBytes.Length,
            KeyLength = (ushort)keyBytes.Length,
            SourceId = sourceId,
            Aux = payload.Length,
        };
        slot.Flags |= type is null ? 0 : EventFlags.HasType;
        slot.Flags |= key is null ? 0 : EventFlags.HasKey;
        if (value is { } v)
        {
            slot.Value = v;
            slot.Flags |= EventFlags.HasValue;
        }

        return Append(ref slot, payload);
    }

    public string PayloadText(long sequence) => Encoding.UTF8.GetString(Ring.Payload(ref Ring.Slots[sequence]));

    public void Dispose() => Ring.Dispose();
}
