using Xunit;

namespace EventDaemon.Daemon.Tests.Config;

public sealed class CycleTests
{
    private const string Source = """
        [sources.in]
        type = "tcp"
        address = "127.0.0.1:7400"


        """;

    [Fact]
    public void ThreeTransformCycle_IsNamedInFlowOrder_AtItsFirstDeclaredMember()
    {
        ConfigTesting.Rejects(
            Source + """
            [transforms.a]
            type = "sample"
            inputs = ["in", "c"]
            rate = 2

            [transforms.b]
            type = "sample"
            inputs = ["a"]
            rate = 2

            [transforms.c]
            type = "sample"
            inputs = ["b"]
            rate = 2

            [sinks.out]
            type = "stdout"
            inputs = ["c"]
            """,
            "test.toml:7:17: inputs: reading 'c' makes a cycle: a -> b -> c -> a");
    }

    [Fact]
    public void TransformReadingItself_IsACycle()
    {
        ConfigTesting.Rejects(
            Source + """
            [transforms.loop]
            type = "throttle"
            inputs = ["loop"]
            limit = 5

            [sinks.out]
            type = "stdout"
            inputs = ["loop"]
            """,
            "test.toml:7:11: inputs: reading 'loop' makes a cycle: loop -> loop");
    }

    [Fact]
    public void TwoSeparateCycles_AreEachReportedOnce()
    {
        ConfigTesting.Rejects(
            Source + """
            [transforms.a]
            type = "sample"
            inputs = ["b"]
            rate = 2

            [transforms.b]
            type = "sample"
            inputs = ["a", "in"]
            rate = 2

            [transforms.x]
            type = "sample"
            inputs = ["y"]
            rate = 2

            [transforms.y]
            type = "sample"
            inputs = ["x"]
            rate = 2

            [sinks.out]
            type = "stdout"
            inputs = ["b", "y"]
            """,
            "test.toml:7:11: inputs: reading 'b' makes a cycle: a -> b -> a",
            "test.toml:17:11: inputs: reading 'y' makes a cycle: x -> y -> x");
    }

    [Fact]
    public void CycleThroughARouteOutput_IsACycle()
    {
        ConfigTesting.Rejects(
            Source + """
            [transforms.r]
            type = "route"
            inputs = ["in", "back"]
            routes = { again = "value > 1" }

            [transforms.back]
            type = "sample"
            inputs = ["r.again"]
            rate = 2

            [sinks.out]
            type = "stdout"
            inputs = ["r._unmatched"]
            """,
            "test.toml:7:17: inputs: reading 'back' makes a cycle: r -> back -> r");
    }

    [Fact]
    public void Diamond_IsNotACycle()
    {
        ConfigTesting.Valid(Source + """
            [transforms.left]
            type = "sample"
            inputs = ["in"]
            rate = 2

            [transforms.right]
            type = "sample"
            inputs = ["in"]
            rate = 3

            [transforms.join]
            type = "sample"
            inputs = ["left", "right"]
            rate = 1

            [sinks.out]
            type = "stdout"
            inputs = ["join", "left"]
            """);
    }
}
