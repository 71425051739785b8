using System.Globalization;
using System.Text;
using EventDaemon.Daemon.Config;

namespace EventDaemon.Daemon.Hosting;

/// <summary>
/// The daemon's log: one line per event on stderr. Cold paths only: nothing on a consumer loop
/// ever logs.
/// </summary>
/// <remarks>
/// <para>
/// Text lines carry the syslog <c>&lt;N&gt;</c> prefix only when stderr is not a terminal: that
/// is journald under systemd (<c>SyslogLevelPrefix</c> files the line at its level and strips the
/// prefix). On a terminal a person reads the line: it starts with an RFC 3339 UTC timestamp (ms)
/// and the level word instead.
/// </para>
/// <para>
/// <c>log_format = "json"</c> writes one object per line, <c>{"ts","level","msg","fields"}</c>,
/// built by hand: no serializer, nothing reflected, safe under Native AOT. The <c>&lt;N&gt;</c>
/// prefix goes in front only when systemd connected stderr to the journal (<c>JOURNAL_STREAM</c>
/// is set): there it keeps the priority and journald strips it; anywhere else (a pipe into a log
/// shipper) each line is pure JSON.
/// </para>
/// </remarks>
public static class Log
{
    private static readonly Lock Gate = new();

    /// <summary>Checked once: stderr does not change from terminal to journal while the daemon runs.</summary>
    private static readonly bool Terminal = !Console.IsErrorRedirected;

    private static readonly bool Journal = Environment.GetEnvironmentVariable("JOURNAL_STREAM") is { Length: > 0 };

    /// <summary>Written by <see cref="Configure"/> once at startup, read by every log call.</summary>
    private static volatile int _format = (int)LogFormat.Text;

    /// <summary>Debug lines are formatted only when <c>EVENTD_DEBUG</c> is set (checked once).</summary>
    public static readonly bool DebugEnabled = Environment.GetEnvironmentVariable("EVENTD_DEBUG") is { Length: > 0 };

    /// <summary>The <c>[daemon] log_format</c> of the config being run; text until then.</summary>
    public static void Configure(LogFormat format) => _format = (int)format;

    public static void Info(string message, params ReadOnlySpan<LogField> fields) => Write(LogLevel.Info, message, fields);

    public static void Warning(string message, params ReadOnlySpan<LogField> fields) => Write(LogLevel.Warning, message, fields);

    public static void Error(string message, params ReadOnlySpan<LogField> fields) => Write(LogLevel.Error, message, fields);

    public static void Info(string message) => Write(LogLevel.Info, message, []);

    public static void Warning(string message) => Write(LogLevel.Warning, message, []);

    public static void Error(string message) => Write(LogLevel.Error, message, []);

    public static void Debug(Func<string> message)
    {
        if (DebugEnabled)
        {
            Write(LogLevel.Debug, message(), []);
        }
    }

    public static void Write(LogLevel level, string message, ReadOnlySpan<LogField> fields)
    {
        string line = Format((LogFormat)_format, level, message, fields, DateTime.UtcNow, Terminal, Journal);
        lock (Gate)
        {
            Fatal.WriteLine(line);
        }
    }

    /// <summary>One log line, without its newline; pure so that each format can be tested without a terminal.</summary>
    /// <param name="terminal">stderr is a terminal: a person reads it.</param>
    /// <param name="journal">systemd connected stderr to the journal (<c>JOURNAL_STREAM</c>).</param>
    public static string Format(LogFormat format, LogLevel level, string message, ReadOnlySpan<LogField> fields, DateTime utc, bool terminal, bool journal)
    {
        ArgumentNullException.ThrowIfNull(message);
        var line = new StringBuilder(64 + message.Length);
        if (format == LogFormat.Json)
        {
            if (journal && !terminal)
            {
                line.Append('<').Append((int)level).Append('>');
            }

            line.Append("{\"ts\":\"");
            AppendTimestamp(line, utc);
            line.Append("\",\"level\":\"").Append(Word(level)).Append("\",\"msg\":");
            AppendJsonString(line, message);
            line.Append(",\"fields\":{");
            for (int i = 0; i < fields.Length; i++)
            {
                if (i > 0)
                {
                    line.Append(',');
                }

                AppendJsonString(line, fields[i].Key);
                line.Append(':');
                AppendJsonString(line, fields[i].Value);
            }

            return line.Append("}}").ToString();
        }

        if (terminal)
        {
            AppendTimestamp(line, utc);
            return line.Append(' ').Append(Word(level).PadRight(8)).Append(message).ToString();
        }

        // The <N> prefix is what journald parses (SyslogLevelPrefix); the level word after "eventd:"
        // is for whoever greps the journal or a file the output was redirected to.
        line.Append('<').Append((int)level).Append(">eventd: ");
        line.Append(level switch
        {
            LogLevel.Error => "error: ",
            LogLevel.Warning => "warning: ",
            _ => "",
        });
        return line.Append(message).ToString();
    }

    private static string Word(LogLevel level) => level switch
    {
        LogLevel.Error => "error",
        LogLevel.Warning => "warning",
        LogLevel.Info => "info",
        _ => "debug",
    };

    private static void AppendTimestamp(StringBuilder line, DateTime utc) =>
        line.Append(utc.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fff'Z'", CultureInfo.InvariantCulture));

    /// <summary>A JSON string literal: quotes, backslashes and control characters escaped, the rest as is (UTF-8 on the way out).</summary>
    private static void AppendJsonString(StringBuilder line, string text)
    {
        line.Append('"');
        foreach (char c in text)
        {
            switch (c)
            {
                case '"':
                    line.Append("\\\"");
                    break;
                case '\\':
                    line.Append("\\\\");
                    break;
                case '\n':
                    line.Append("\\n");
                    break;
                case '\r':
                    line.Append("\\r");
                    break;
                case '\t':
                    line.Append("\\t");
                    break;
                case < ' ':
                    line.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default:
                    line.Append(c);
                    break;
            }
        }

        line.Append('"');
    }
}
