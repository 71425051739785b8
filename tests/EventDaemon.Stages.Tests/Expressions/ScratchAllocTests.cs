using EventDaemon.Stages.Expressions;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Stages.Tests.Expressions;

public class ScratchAllocTests(ITestOutputHelper output)
{
    [Fact]
    public void Scratch()
    {
        var ev = TestEvent.FromJson("""{"ts":1764151200000000001,"type":"purchase","key":"user-1","value":5,"name":"anna","region":"eu","count":3,"esc":"\u0065u"}""");
        string[] exprs = ["true", "type == \"purchase\"", "value > 0", "ts >= 1", "type in [\"a\",\"b\"]", "starts_with(key, \"user-\")", "contains(.name, \"test\")", ".region == \"eu\"", "exists(.count)", ".region < \"zz\"", ".esc == \"eu\"", ".region == .esc"];
        foreach (var e in exprs)
        {
            var p = Compiled.From(e);
            for (int i = 0; i < 1000; i++) ev.Matches(p);
            long b = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++) ev.Matches(p);
            output.WriteLine($"{e}: {(GC.GetAllocatedBytesForCurrentThread() - b) / 1000.0}");
        }
    }
}
