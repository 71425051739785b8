using System.Text;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Fields;

namespace EventDaemon.Events.Tests.Support;

/// <summary>Test-side view of a decode result with the strings unescaped, for readable assertions.</summary>
internal sealed record Parsed(bool Ok, InvalidReason Reason, long? Ts, string? Type, string? Key, double? Value, EventSlot Slot)
{
    public static Parsed Json(string line) => Json(Encoding.UTF8.GetBytes(line));

    public static Parsed Json(byte[] line)
    {
        var slot = default(EventSlot);
        bool ok = JsonEventParser.TryParse(line, ref slot, out InvalidReason reason);
        if (!ok)
        {
            return new Parsed(false, reason, null, null, null, null, slot);
        }

        var flags = slot.Flags;
        return new Parsed(
            true,
            reason,
            (flags & EventFlags.HasTimestamp) != 0 ? slot.Timestamp : null,
            (flags & EventFlags.HasType) != 0 ? Unescape(line.AsSpan(slot.TypeOffset, slot.TypeLength), (flags & EventFlags.TypeEscaped) != 0) : null,
            (flags & EventFlags.HasKey) != 0 ? Unescape(line.AsSpan(slot.KeyOffset, slot.KeyLength), (flags & EventFlags.KeyEscaped) != 0) : null,
            (flags & EventFlags.HasValue) != 0 ? slot.Value : null,
            slot);
    }

    public static string Unescape(ReadOnlySpan<byte> raw, bool escaped)
    {
        if (!escaped)
        {
            return Encoding.UTF8.GetString(raw);
        }

        var buffer = new byte[raw.Length];
        Assert.True(JsonString.TryUnescape(raw, buffer, out int written), $"raw string '{Encoding.UTF8.GetString(raw)}' should unescape");
        return Encoding.UTF8.GetString(buffer, 0, written);
    }
}
