using System.Text;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Fields;
using EventDaemon.Events.Tests.Codecs;
using Xunit;

namespace EventDaemon.Events.Tests.Fields;

public class EventViewTests
{
    [Fact]
    public void JsonEvent_ExposesTypeKeyAndNamedFields()
    {
        byte[] line = Encoding.UTF8.GetBytes("""{"type":"cl\u0069ck","key":"u1","region":"eu","n":3}""");
        var slot = default(EventSlot);
        Assert.True(JsonEventParser.TryParse(line, ref slot, out _), "fixture should parse");
        var view = new EventView(in slot, line);

        Assert.True(view.TypeEquals("click"u8), "TypeEquals should compare after unescaping");
        Assert.False(view.TypeEquals("cl\\u0069ck"u8), "TypeEquals must not match the escaped text");
        Assert.True(view.KeyEquals("u1"u8), "KeyEquals should match");
        Assert.True(view.TryGetField("region"u8, out JsonScalar region) && region.IsString && region.RawIn(line).SequenceEqual("eu"u8), "region should be found");
        Assert.True(view.TryGetField("n"u8, out JsonScalar n) && n.IsNumber && n.GetDouble(line) == 3, "n should be the number 3");
        Assert.False(view.TryGetField("missing"u8, out _), "missing field must not be found");
    }

    [Fact]
    public void BinaryEvent_HasNoNamedFieldsButComparesTypeAndKey()
    {
        byte[] frame = BinaryFrameTests.Encode(null, 1, "click", "u1", Encoding.UTF8.GetBytes("{\"region\":\"eu\"}"));
        var slot = default(EventSlot);
        Assert.True(BinaryFrameDecoder.DecodeOne(frame, 1024, ref slot, out _, out _) == EventDaemon.Events.BadInput.FrameError.None, "fixture frame should decode");
        var view = new EventView(in slot, frame);

        Assert.True(view.IsBinary, "binary flag expected");
        Assert.True(view.TypeEquals("click"u8) && view.KeyEquals("u1"u8), "type and key should compare as raw UTF-8");
        Assert.False(view.TryGetField("region"u8, out _), "binary payloads are opaque: no named fields");
    }
}
