using System.Text.Json;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Hosting;
using Xunit;

namespace EventDaemon.Daemon.Tests.Hosting;

/// <summary>What a log line looks like to journald, to a person at a terminal, and to a JSON log shipper.</summary>
public sealed class LogFormatTests
{
    private static readonly DateTime At = new(2026, 12, 6, 20, 45, 1, 234, DateTimeKind.Utc);

    [Theory]
    [InlineData(LogLevel.Error, "<3>eventd: error: it broke")]
    [InlineData(LogLevel.Warning, "<4>eventd: warning: it broke")]
    [InlineData(LogLevel.Info, "<6>eventd: it broke")]
    [InlineData(LogLevel.Debug, "<7>eventd: it broke")]
    public void Text_NotOnATerminal_CarriesTheSyslogPriority(LogLevel level, string expected)
    {
        string line = Log.Format(LogFormat.Text, level, "it broke", [], At, terminal: false, journal: false);
        Assert.True(line == expected, $"journald needs the <N> prefix: got '{line}', expected '{expected}'");
    }

    [Theory]
    [InlineData(LogLevel.Error, "2026-12-06T20:45:01.234Z error   it broke")]
    [InlineData(LogLevel.Warning, "2026-12-06T20:45:01.234Z warning it broke")]
    [InlineData(LogLevel.Info, "2026-12-06T20:45:01.234Z info    it broke")]
    public void Text_OnATerminal_StartsWithTheTimeAndLevel_AndHasNoPrefix(LogLevel level, string expected)
    {
        string line = Log.Format(LogFormat.Text, level, "it broke", [], At, terminal: true, journal: true);
        Assert.True(line == expected, $"a person reads a terminal: got '{line}', expected '{expected}'");
    }

    [Fact]
    public void Json_IsOneObjectWithTimeLevelMessageAndFields_EscapedCorrectly()
    {
        string message = "path \"C:\\x\"\nnext\tline \u0001 é";
        string line = Log.Format(LogFormat.Json, LogLevel.Error, message, [new("reload", "refused"), new("trigger", "SIGHUP")], At, terminal: false, journal: false);
        Assert.False(line.Contains('\n'), $"a JSON log entry must stay on one line: {line}");
        using JsonDocument doc = JsonDocument.Parse(line);
        JsonElement root = doc.RootElement;
        Assert.True(root.GetProperty("ts").GetString() == "2026-12-06T20:45:01.234Z", $"ts: {line}");
        Assert.True(root.GetProperty("level").GetString() == "error", $"level: {line}");
        Assert.True(root.GetProperty("msg").GetString() == message, $"msg should round-trip through JSON escaping: {line}");
        Assert.True(root.GetProperty("fields").GetProperty("reload").GetString() == "refused", $"fields.reload: {line}");
        Assert.True(root.GetProperty("fields").GetProperty("trigger").GetString() == "SIGHUP", $"fields.trigger: {line}");
    }

    [Fact]
    public void Json_UnderJournald_KeepsThePriorityPrefix_ElsewhereIsPureJson()
    {
        string journal = Log.Format(LogFormat.Json, LogLevel.Warning, "m", [], At, terminal: false, journal: true);
        string pipe = Log.Format(LogFormat.Json, LogLevel.Warning, "m", [], At, terminal: false, journal: false);
        Assert.True(journal.StartsWith("<4>{", StringComparison.Ordinal), $"journald files the entry by its <N> prefix: {journal}");
        Assert.True(pipe.StartsWith('{'), $"a pipe gets one JSON object per line, nothing before it: {pipe}");
        using JsonDocument parsed = JsonDocument.Parse(journal[3..]);
        Assert.True(parsed.RootElement.GetProperty("msg").GetString() == "m", $"after the prefix the line is JSON: {journal}");
    }

    [Fact]
    public void LogFormat_IsReadFromTheDaemonTable_TextByDefault()
    {
        EventdConfig json = Tests.Config.ConfigTesting.Valid("[daemon]\nlog_format = \"json\"\n" + Tests.Config.ConfigTesting.Pipeline);
        EventdConfig plain = Tests.Config.ConfigTesting.Valid(Tests.Config.ConfigTesting.Pipeline);
        Assert.True(json.Daemon.LogFormat == LogFormat.Json, $"log_format = \"json\" read as {json.Daemon.LogFormat}");
        Assert.True(plain.Daemon.LogFormat == LogFormat.Text, $"the default should be text, got {plain.Daemon.LogFormat}");
        string[] errors = [.. Tests.Config.ConfigTesting.Parse("[daemon]\nlog_format = \"xml\"\n" + Tests.Config.ConfigTesting.Pipeline).Errors.Select(ErrorFormatter.Format)];
        Assert.True(errors.Length == 1 && errors[0] == "test.toml:2:14: log_format: unknown value 'xml'; expected one of text, json", $"got: {string.Join(" | ", errors)}");
    }
}
