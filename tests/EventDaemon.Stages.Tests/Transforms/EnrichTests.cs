using System.Text;
using System.Text.Json;
using EventDaemon.Events;
using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;
using EventDaemon.Stages.Transforms;
using Xunit;

namespace EventDaemon.Stages.Tests.Transforms;

public class EnrichTableTests
{
    private const string Users = "id,name,tier\nu1,Anna,gold\nu2,\"Smith, \"\"Bob\"\"\",silver\n42,Answer,\n";

    [Fact]
    public void Parse_HeaderKeyAndColumns_RenderedAsJsonMembers()
    {
        EnrichTable table = Parse(Users);
        Assert.True(table.KeyColumn == "id" && table.Columns.SequenceEqual(["name", "tier"]), $"key should be the first column and the rest added: key {table.KeyColumn}, columns [{string.Join(",", table.Columns)}]");
        Assert.True(table.Rows == 3 && table.DistinctKeys == 3, $"3 rows expected, {table.Rows}");
        Assert.True(Rendered(table, "u2") == ",\"name\":\"Smith, \\\"Bob\\\"\",\"tier\":\"silver\"", $"quoted fields with commas and quotes should render escaped: {Rendered(table, "u2")}");
        Assert.True(Rendered(table, "42") == ",\"name\":\"Answer\",\"tier\":\"\"", $"an empty cell is an empty string: {Rendered(table, "42")}");
        Assert.True(table.Find("u3"u8) == -1 && table.Find("U1"u8) == -1 && table.Find(""u8) == -1, "unknown keys miss; keys are case-sensitive");
    }

    [Fact]
    public void Parse_KeyColumnAndColumnSubset()
    {
        EnrichTable table = EnrichTable.Parse(Encoding.UTF8.GetBytes(Users), "users.csv", "name", ["id"]);
        Assert.True(Rendered(table, "Anna") == ",\"id\":\"u1\"", $"key_column name, columns [id]: {Rendered(table, "Anna")}");
        Assert.True(table.Find("u1"u8) == -1, "the id column is not the key any more");
    }

    [Fact]
    public void Parse_CrLfBomBlankLinesQuotedNewlinesAndRepeatedKeys()
    {
        EnrichTable table = Parse("\uFEFFid,note\r\n\r\na,\"two\r\nlines\"\r\nb,x\r\n\na,last wins");
        Assert.True(table.Rows == 3 && table.DistinctKeys == 2, $"3 rows with 2 distinct keys expected: {table.Rows} rows, {table.DistinctKeys} keys");
        Assert.True(Rendered(table, "a") == ",\"note\":\"last wins\"", $"the last row of a repeated key wins: {Rendered(table, "a")}");
        Assert.True(table.Columns.SequenceEqual(["note"]) && table.KeyColumn == "id", "the byte-order mark is not part of the first column's name");
        EnrichTable quoted = Parse("id,note\nq,\"a\nb\tc\u0001\"\n");
        Assert.True(Rendered(quoted, "q") == ",\"note\":\"a\\nb\\tc\\u0001\"", $"line breaks and control characters are escaped: {Rendered(quoted, "q")}");
    }

    [Fact]
    public void Parse_HeaderOnly_IsAnEmptyTable()
    {
        EnrichTable table = Parse("id,name\n");
        Assert.True(table.Rows == 0 && table.Find("id"u8) == -1, "a table with only a header matches nothing");
    }

    [Theory]
    [InlineData("", null, "empty")]
    [InlineData("\n\n", null, "empty")]
    [InlineData("id,name\na,1\nb\n", null, "t.csv:3: 1 fields, but the header has 2")]
    [InlineData("id,name\na,\"open\nb,2\n", null, "t.csv:2: a quoted field is never closed")]
    [InlineData("id,name\na,\"x\"y\n", null, "t.csv:2: unexpected 'y' after a closing quote")]
    [InlineData("id,name,id\n", null, "column 'id' appears twice")]
    [InlineData("id,name\n", "user", "key_column 'user' is not a column of the table (columns: id, name)")]
    public void Parse_BadTable_SaysWhereAndWhy(string csv, string? keyColumn, string expected)
    {
        var e = Assert.Throws<EnrichTableException>(() => EnrichTable.Parse(Encoding.UTF8.GetBytes(csv), "t.csv", keyColumn, []));
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"message should contain '{expected}': {e.Message}");
    }

    [Fact]
    public void Parse_UnknownColumnOrInvalidUtf8_Refused()
    {
        var column = Assert.Throws<EnrichTableException>(() => EnrichTable.Parse("id,name\n"u8, "t.csv", null, ["nmae"]));
        Assert.Contains("column 'nmae' is not a column of the table", column.Message, StringComparison.Ordinal);
        var utf8 = Assert.Throws<EnrichTableException>(() => EnrichTable.Parse([.. "id,name\na,"u8, 0xFF, (byte)'\n'], "t.csv", null, []));
        Assert.Contains("not valid UTF-8", utf8.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_Refused()
    {
        string path = Path.Combine(Path.GetTempPath(), $"eventd-missing-{Guid.NewGuid():N}.csv");
        var e = Assert.Throws<EnrichTableException>(() => EnrichTable.Load(path, null, []));
        Assert.True(e.Message.StartsWith(path, StringComparison.Ordinal) && e.Message.Contains("no such file", StringComparison.Ordinal), $"message should name the file and the problem: {e.Message}");
    }

    [Fact]
    public void Load_ReadsTheFileEachTime()
    {
        string path = Path.Combine(Path.GetTempPath(), $"eventd-enrich-{Guid.NewGuid():N}.csv");
        try
        {
            File.WriteAllText(path, "id,tier\nu1,gold\n");
            EnrichTable before = EnrichTable.Load(path, null, []);
            File.WriteAllText(path, "id,tier\nu1,platinum\n");
            EnrichTable after = EnrichTable.Load(path, null, []);
            Assert.True(Rendered(before, "u1") == ",\"tier\":\"gold\"" && Rendered(after, "u1") == ",\"tier\":\"platinum\"",
                "a reload reads the current file into a new table; the old table is unchanged");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("""{"id":"u1"}""", """{"id":"u1","name":"Anna","tier":"gold"}""")]
    [InlineData("""{}""", """{"name":"Anna","tier":"gold"}""")]
    [InlineData("""{ }""", """{ "name":"Anna","tier":"gold"}""")]
    [InlineData("""  {"a":{"b":"}"}} """, """  {"a":{"b":"}"},"name":"Anna","tier":"gold"} """)]
    public void WriteEnriched_AddsColumnsAsLastMembers(string line, string expected)
    {
        EnrichTable table = Parse(Users);
        byte[] destination = new byte[line.Length + table.MaxRenderedLength];
        int n = table.WriteEnriched(Encoding.UTF8.GetBytes(line), table.Find("u1"u8), destination);
        string written = Encoding.UTF8.GetString(destination, 0, n);
        Assert.True(written == expected, $"expected {expected}, got {written}");
        using JsonDocument doc = JsonDocument.Parse(written);
        Assert.True(doc.RootElement.GetProperty("tier").GetString() == "gold", "the enriched line should be valid JSON with the column");
    }

    internal static EnrichTable Parse(string csv) => EnrichTable.Parse(Encoding.UTF8.GetBytes(csv), "test.csv", null, []);

    private static string Rendered(EnrichTable table, string key)
    {
        int row = table.Find(Encoding.UTF8.GetBytes(key));
        Assert.True(row >= 0, $"key '{key}' should be in the table");
        return Encoding.UTF8.GetString(table.RenderedColumns(row));
    }
}

public class EnrichHandlerTests
{
    private const int Bit = 13;
    private static readonly Reach FromSourceZero = new(SourceMask: 1, PassMask: 0);

    [Theory]
    [InlineData("""{"user":"u1"}""", true)]
    [InlineData("""{"user":"\u0075\u0031"}""", true)]
    [InlineData("""{"user":42}""", true)]
    [InlineData("""{"user":"42"}""", true)]
    [InlineData("""{"user":42.0}""", false)]
    [InlineData("""{"user":"u3"}""", false)]
    [InlineData("""{"user":null}""", false)]
    [InlineData("""{"other":"u1"}""", false)]
    [InlineData("""{"user":["u1"]}""", false)]
    public void Lookup_HitRecordsRow_MissCounts(string json, bool hit)
    {
        using var ring = new TestRing();
        StageMetrics metrics = StageDriver.Metrics("enrich");
        EnrichTable table = EnrichTableTests.Parse("id,name,tier\nu1,Anna,gold\n42,Answer,\n");
        var enrich = new EnrichHandler(ring.Ring.Reader, FieldSelector.Parse(".user"), table, FromSourceZero, Bit, metrics);
        ulong marks = StageDriver.Push(ref enrich, ring, json);

        ref EventSlot slot = ref ring[ring.Cursor];
        Assert.True(marks == 0, $"{json}: every event that reaches enrich passes it, hit or miss; marks {marks:b}");
        Assert.True((enrich.Rows.RowOf(ring.Cursor) >= 0) == hit, $"{json}: should {(hit ? "" : "not ")}record a row; row {enrich.Rows.RowOf(ring.Cursor)}");
        Assert.True(slot.Aux == 0, $"{json}: the row goes to the stage's side array, not the slot; Aux = {slot.Aux}");
        Assert.True(metrics.EnrichHits == (hit ? 1 : 0) && metrics.EnrichMisses == (hit ? 0 : 1), $"{json}: hits {metrics.EnrichHits}, misses {metrics.EnrichMisses}");
    }

    [Fact]
    public void TypeAndKeyFields_AndBinaryFrames_AreEnrichedAlike()
    {
        using var ring = new TestRing();
        StageMetrics metrics = StageDriver.Metrics("enrich");
        EnrichTable table = EnrichTableTests.Parse("k,v\nsay \"hi\",1\n");
        var enrich = new EnrichHandler(ring.Ring.Reader, FieldSelector.Parse("key"), table, FromSourceZero, Bit, metrics);
        StageDriver.Push(ref enrich, ring, """{"key":"say \"hi\""}""");
        Assert.True(enrich.Rows.RowOf(ring.Cursor) == 0, "an escaped key should match its unescaped table key");

        long binary = ring.AppendBinary("t", "say \"hi\"");
        int aux = ring[binary].Aux;
        enrich.OnEvent(ref ring[binary], binary, true);
        Assert.True(enrich.Rows.RowOf(binary) == 0, "a binary frame's key should match and record its row like a JSON event's");
        Assert.True(ring[binary].Aux == aux, "a binary frame's Aux locates its payload and must not change");
        Assert.True(metrics.EnrichHits == 2, $"both lookups should count as hits: {metrics.EnrichHits}");
    }

    [Fact]
    public void TwoEnrichStagesOnOneRing_EachKeepItsOwnRows()
    {
        using var ring = new TestRing();
        StageMetrics users = StageDriver.Metrics("users");
        StageMetrics places = StageDriver.Metrics("places");
        var byUser = new EnrichHandler(ring.Ring.Reader, FieldSelector.Parse(".user"), EnrichTableTests.Parse("id,name\nu0,Zoe\nu1,Anna\n"), FromSourceZero, Bit, users);
        var byPlace = new EnrichHandler(ring.Ring.Reader, FieldSelector.Parse(".place"), EnrichTableTests.Parse("id,city\np1,Oslo\n"), FromSourceZero, Bit + 1, places);
        long both = ring.AppendJson("""{"user":"u1","place":"p1"}""");
        long userOnly = ring.AppendJson("""{"user":"u0","place":"p9"}""");
        foreach (long s in new[] { both, userOnly })
        {
            byUser.OnEvent(ref ring[s], s, true);
            byPlace.OnEvent(ref ring[s], s, true);
        }

        Assert.True(byUser.Rows.RowOf(both) == 1 && byPlace.Rows.RowOf(both) == 0,
            $"each stage should record its own row: users {byUser.Rows.RowOf(both)}, places {byPlace.Rows.RowOf(both)}");
        Assert.True(byUser.Rows.RowOf(userOnly) == 0 && byPlace.Rows.RowOf(userOnly) == -1,
            $"a miss in one stage must not hide the other's hit: users {byUser.Rows.RowOf(userOnly)}, places {byPlace.Rows.RowOf(userOnly)}");
    }

    [Fact]
    public void ARowIsClearedWhenTheSlotComesRoundAgain()
    {
        using var ring = new TestRing(slots: 4);
        StageMetrics metrics = StageDriver.Metrics("enrich");
        var enrich = new EnrichHandler(ring.Ring.Reader, FieldSelector.Parse(".user"), EnrichTableTests.Parse("id\nu1\n"), FromSourceZero, Bit, metrics);
        long hit = ring.AppendJson("""{"user":"u1"}""");
        enrich.OnEvent(ref ring[hit], hit, true);
        for (int i = 0; i < 3; i++)
        {
            long other = ring.AppendJson("""{"user":"u1"}""");
            enrich.OnEvent(ref ring[other], other, true);
        }

        long missLap = ring.AppendJson("""{"user":"nobody"}""");
        Assert.True((missLap & 3) == (hit & 3), "the test needs the miss on the hit's slot");
        enrich.OnEvent(ref ring[missLap], missLap, true);
        Assert.True(enrich.Rows.RowOf(missLap) == -1, $"a miss a lap later still reads the old hit's row {enrich.Rows.RowOf(missLap)}");

        long unreached = ring.AppendJson("""{"user":"u1"}""", sourceId: 2);
        enrich.OnEvent(ref ring[unreached], unreached, true);
        Assert.True(enrich.Rows.RowOf(unreached) == -1, $"an event that did not reach the stage reads the row {enrich.Rows.RowOf(unreached)} of the event a lap before");
    }

    [Fact]
    public void EventThatDoesNotReachEnrich_IsMarked_NotCounted()
    {
        using var ring = new TestRing();
        StageMetrics metrics = StageDriver.Metrics("enrich");
        var enrich = new EnrichHandler(ring.Ring.Reader, FieldSelector.Parse(".user"), EnrichTableTests.Parse("id\nu1\n"), FromSourceZero, Bit, metrics);
        ulong marks = StageDriver.Push(ref enrich, ring, """{"user":"u1"}""", sourceId: 2);
        Assert.True(marks == 1UL << Bit && ring[ring.Cursor].Aux == 0 && metrics.Processed == 0 && metrics.EnrichHits == 0,
            $"an event from another source is marked (stages reading enrich skip it) and neither looked up nor counted: marks {marks:b}");
    }
}
