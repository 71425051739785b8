using EventDaemon.Events.Fields;
using EventDaemon.Stages.Expressions;
using Xunit;

namespace EventDaemon.Stages.Tests.Expressions;

public class ZeroAllocationTests
{
    private const int Evaluations = 1_000_000;

    [Fact]
    public void Evaluate_InSteadyState_AllocatesNothing()
    {
        FilterProgram program = Compiled.From("""
            (type == "purchase" || type in ["refund", "chargeback", "p\u00e9"])
            && value > 0 && ts >= 1764151200000000000
            && starts_with(key, "user-") && !contains(.name, "test")
            && (.region in ["eu", "us", "apac"] || .region == .home)
            && .count >= 3 && exists(.count) && .region != "mars" && .region < "zz"
            """);
        TestEvent[] events =
        [
            TestEvent.FromJson("""{"ts":1764151200000000001,"type":"purchase","key":"user-1","value":5,"name":"anna","region":"eu","count":3}"""),
            TestEvent.FromJson("""{"ts":1764151200000000002,"type":"p\u00e9","key":"user-\u0032","value":1.5,"name":"b\u00f6b","region":"\u0065u","count":7}"""),
            TestEvent.FromJson("""{"ts":1764151200000000003,"type":"refund","key":"user-3","value":2,"name":"carl","region":"mars","home":"mars","count":9}"""),
            TestEvent.FromJson("""{"ts":1764151200000000004,"type":"purchase","key":"bot-4","value":2,"name":"test","region":"us","count":1}"""),
        ];
        bool[] expected = [true, true, false, false];

        for (int i = 0; i < events.Length; i++)
        {
            bool actual = events[i].Matches(program);
            Assert.True(actual == expected[i], $"event {i} should evaluate to {expected[i]} but gave {actual}: {events[i]}");
        }

        // Warm-up: tiered compilation and any lazy runtime state happen before measuring.
        int warmMatches = Run(program, events, 20_000);

        long before = GC.GetAllocatedBytesForCurrentThread();
        int matches = Run(program, events, Evaluations);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated == 0, $"{Evaluations:N0} evaluations allocated {allocated:N0} bytes on this thread; Evaluate must allocate nothing");
        Assert.True(matches == Evaluations / 2 && warmMatches == 10_000, $"half the events match, so {Evaluations / 2:N0} matches were expected, got {matches:N0}");
    }

    [Fact]
    public void Evaluate_OnTheDecodersRow_InSteadyState_AllocatesNothing()
    {
        // Every step kind of the row path: type/key/.field against strings (escaped too), value
        // and .field against numbers (digits compared, converted, beyond 2^53), and general steps.
        FilterProgram unbound = Compiled.From("""
            (type == "purchase" || key != "bot") && value >= 10 && value < 9007199254740993
            && .region != "ap" && .price > 2 && .price <= 1e3 && .count >= 1764151200000000000
            && (.region in ["eu", "us"] || starts_with(.region, "e"))
            """);
        var builder = new FieldCatalog.Builder();
        foreach (string name in unbound.FieldNames)
        {
            builder.AddField(name);
        }

        FieldCatalog catalog = builder.Build();
        FilterProgram program = unbound.BindTo(catalog);
        TestEvent.Indexed[] events =
        [
            TestEvent.FromJson("""{"type":"purchase","key":"u1","value":12.5,"region":"eu","price":2.50,"count":1764151200000000001}""").IndexWith(catalog),
            TestEvent.FromJson("""{"type":"purchase","key":"u2","value":10,"region":"us","price":1e2,"count":1764151200000000002}""").IndexWith(catalog),
            TestEvent.FromJson("""{"type":"view","key":"bot","value":12.5,"region":"eu","price":3,"count":1764151200000000003}""").IndexWith(catalog),
            TestEvent.FromJson("""{"type":"view","key":"u4","value":99,"region":"ap","price":3,"count":1764151200000000004}""").IndexWith(catalog),
        ];
        bool[] expected = [true, true, false, false];
        for (int i = 0; i < events.Length; i++)
        {
            bool actual = events[i].Matches(program);
            Assert.True(actual == expected[i], $"event {i} should evaluate to {expected[i]} on its row but gave {actual}");
        }

        int warmMatches = RunIndexed(program, events, 20_000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        int matches = RunIndexed(program, events, Evaluations);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated == 0, $"{Evaluations:N0} evaluations on the row allocated {allocated:N0} bytes on this thread; Evaluate must allocate nothing");
        Assert.True(matches == Evaluations / 2 && warmMatches == 10_000, $"half the events match, so {Evaluations / 2:N0} matches were expected, got {matches:N0}");
    }

    private static int RunIndexed(FilterProgram program, TestEvent.Indexed[] events, int count)
    {
        int matches = 0;
        for (int i = 0; i < count; i++)
        {
            if (events[i & 3].Matches(program))
            {
                matches++;
            }
        }

        return matches;
    }

    private static int Run(FilterProgram program, TestEvent[] events, int count)
    {
        int matches = 0;
        for (int i = 0; i < count; i++)
        {
            if (events[i & 3].Matches(program))
            {
                matches++;
            }
        }

        return matches;
    }
}
