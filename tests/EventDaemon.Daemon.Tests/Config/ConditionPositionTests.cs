using Xunit;

namespace EventDaemon.Daemon.Tests.Config;

/// <summary>An error inside a condition is reported where it is in the file, however the string is written.</summary>
public sealed class ConditionPositionTests
{
    private const string Head = """
        [sources.in]
        type = "tcp"
        address = "127.0.0.1:7400"

        [transforms.f]
        type = "filter"
        inputs = ["in"]

        """;

    private const string Tail = """


        [sinks.out]
        type = "stdout"
        inputs = ["f"]
        """;

    [Theory]
    [InlineData("condition = \"type == @@\"", 22)]
    [InlineData("condition = 'type == @@'", 22)]
    [InlineData("condition = \"key == \\\"a\\\" && @@\"", 30)]
    [InlineData("condition = \"key == \\u00e9 @@\"", 28)]
    [InlineData("condition = \"key == '🎉' && @@\"", 28)]
    [InlineData("  condition   =   \"@@\"", 20)]
    public void SingleLineString_MapsTheColumnThroughQuotesAndEscapes(string line, int column)
    {
        ConfigTesting.Rejects(
            Head + line + Tail,
            ConfigTesting.RejectsAtAt,
            $"test.toml:8:{column}: condition: unexpected '@@'");
    }

    [Fact]
    public void MultiLineBasicString_MapsLineAndColumn()
    {
        ConfigTesting.Rejects(
            Head + "condition = \"\"\"\ntype == \"a\"\n  && \\\"x\\\" == @@\"\"\"" + Tail,
            ConfigTesting.RejectsAtAt,
            "test.toml:10:15: condition: unexpected '@@'");
    }

    [Fact]
    public void MultiLineLiteralString_MapsLineAndColumn()
    {
        ConfigTesting.Rejects(
            Head + "condition = '''\ntype == \"a\"\n    && @@'''" + Tail,
            ConfigTesting.RejectsAtAt,
            "test.toml:10:8: condition: unexpected '@@'");
    }

    [Fact]
    public void LineEndingBackslash_IsFollowedToTheNextLine()
    {
        ConfigTesting.Rejects(
            Head + "condition = \"\"\"type == \"a\" \\\n      && @@\"\"\"" + Tail,
            ConfigTesting.RejectsAtAt,
            "test.toml:9:10: condition: unexpected '@@'");
    }

    [Fact]
    public void CrLfLineEndings_AreOneLineBreak()
    {
        string toml = (Head + "condition = '''\ntype == \"a\"\n    && @@'''" + Tail).Replace("\n", "\r\n", StringComparison.Ordinal);

        ConfigTesting.Rejects(toml, ConfigTesting.RejectsAtAt, "test.toml:10:8: condition: unexpected '@@'");
    }

    [Fact]
    public void RouteCondition_IsMappedLikeAFilters()
    {
        ConfigTesting.Rejects(
            """
            [sources.in]
            type = "tcp"
            address = "127.0.0.1:7400"

            [transforms.r]
            type = "route"
            inputs = ["in"]
            routes = { ok = "value > 1", bad = "value > @@" }

            [sinks.out]
            type = "stdout"
            inputs = ["r.ok", "r.bad", "r._unmatched"]
            """,
            ConfigTesting.RejectsAtAt,
            "test.toml:8:45: routes.bad: unexpected '@@'");
    }

    [Fact]
    public void ErrorPastTheEnd_PointsAtTheClosingQuote()
    {
        var atEnd = new EventDaemon.Daemon.Config.DelegateConditionValidator(
            condition => new EventDaemon.Daemon.Config.ConditionError(1, condition.Length + 1, "unexpected end of condition"));

        ConfigTesting.Rejects(
            Head + "condition = \"value >\"" + Tail,
            atEnd,
            "test.toml:8:21: condition: unexpected end of condition");
    }

    [Fact]
    public void ValidConditions_PassTheValidator()
    {
        ConfigTesting.Valid(Head + "condition = \"value > 1\"" + Tail, ConfigTesting.RejectsAtAt);
    }
}
