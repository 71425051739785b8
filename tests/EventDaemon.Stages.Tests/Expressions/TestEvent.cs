using System.Text;
using EventDaemon.Events;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Fields;
using EventDaemon.Stages.Expressions;
using Xunit;

namespace EventDaemon.Stages.Tests.Expressions;

/// <summary>An event as a filter sees it: a slot decoded by the real JSON parser, and its line.</summary>
internal sealed class TestEvent
{
    private readonly byte[] _payload;
    private readonly EventSlot _slot;

    private TestEvent(byte[] payload, EventSlot slot)
    {
        _payload = payload;
        _slot = slot;
    }

    public string Description { get; private init; } = "";

    public static TestEvent FromJson(string json)
    {
        byte[] line = Encoding.UTF8.GetBytes(json);
        var slot = default(EventSlot);
        bool parsed = JsonEventParser.TryParse(line, ref slot, out InvalidReason reason);
        Assert.True(parsed, $"test event should be valid JSON for the ingest parser but was rejected ({reason}): {json}");
        return new TestEvent(line, slot) { Description = json };
    }

    /// <summary>A binary-frame event: well-known fields in the slot, opaque payload bytes.</summary>
    public static TestEvent FromBinary(EventSlot slot, byte[] payload) =>
        new(payload, slot) { Description = $"binary frame flags={slot.Flags}" };

    public bool Matches(FilterProgram program)
    {
        var view = new EventView(in _slot, _payload);
        return program.Evaluate(in view);
    }

    /// <summary>As the daemon evaluates it: the program bound to a catalog of its fields, reading
    /// them from the row the decoder filled instead of scanning the line.</summary>
    public bool MatchesIndexed(FilterProgram program) => MatchesIndexed(program, program.FieldNames);

    /// <summary>As above with a catalog of <paramref name="catalogFields"/> only: fields it lacks are scanned for.</summary>
    public bool MatchesIndexed(FilterProgram program, IEnumerable<string> catalogFields)
    {
        var builder = new FieldCatalog.Builder();
        foreach (string name in catalogFields)
        {
            builder.AddField(name);
        }

        FieldCatalog catalog = builder.Build();
        byte[] row = new byte[catalog.RowBytes];
        EventSlot slot = _slot;
        if ((slot.Flags & EventFlags.Binary) != 0)
        {
            Assert.True(FieldIndexer.Index(in slot, _payload, catalog, row), "a frame indexes");
        }
        else
        {
            Assert.True(JsonEventParser.TryParse(_payload, ref slot, catalog, row, out InvalidReason reason), $"the line decodes with a catalog too ({reason})");
        }

        var view = new EventView(in slot, _payload, catalog.Fields(row), catalog.Hashes(row));
        return program.BindTo(catalog).Evaluate(in view);
    }

    /// <summary>
    /// The event decoded once with a catalog of <paramref name="catalog"/>'s fields, its row kept:
    /// evaluating it afterwards allocates nothing (for the allocation tests).
    /// </summary>
    public Indexed IndexWith(FieldCatalog catalog)
    {
        byte[] row = new byte[catalog.RowBytes];
        EventSlot slot = _slot;
        Assert.True(JsonEventParser.TryParse(_payload, ref slot, catalog, row, out InvalidReason reason), $"the line decodes with a catalog too ({reason})");
        return new Indexed(_payload, slot, row, catalog);
    }

    public override string ToString() => Description;

    /// <summary>An event with the row its decoder filled.</summary>
    internal sealed class Indexed(byte[] payload, EventSlot slot, byte[] row, FieldCatalog catalog)
    {
        private readonly EventSlot _slot = slot;

        public bool Matches(FilterProgram bound)
        {
            var view = new EventView(in _slot, payload, catalog.Fields(row), catalog.Hashes(row));
            return bound.Evaluate(in view);
        }
    }
}
