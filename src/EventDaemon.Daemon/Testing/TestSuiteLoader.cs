using System.Text.Json;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Config.Internal;
using EventDaemon.Stages.Expressions;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace EventDaemon.Daemon.Testing;

/// <summary>
/// Reads a config's <c>[[tests]]</c> tables, checked against the config they test: every mistake
/// is a <c>file:line:col: message</c> like any other config error.
/// </summary>
/// <remarks>
/// The config itself is loaded (and validated) first by <see cref="ConfigLoader"/>, which accepts
/// <c>[[tests]]</c> and ignores them: <c>run</c> and <c>validate</c> never execute a test.
/// </remarks>
public static class TestSuiteLoader
{
    private static readonly string[] TestKeys = ["name", "inputs", "outputs"];

    private static readonly string[] OutputKeys = ["from", "events", "conditions", "count"];

    /// <summary>The tests of the config file at <paramref name="path"/>, or the errors in them.</summary>
    public static (List<ConfigTest> Tests, IReadOnlyList<ConfigDiagnostic> Errors) Load(string path, EventdConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        string text = File.ReadAllText(path);
        var diagnostics = new DiagnosticBag();
        DocumentSyntax document = SyntaxParser.Parse(text, path, validate: false);
        TomlTable root = TomlTreeBuilder.Build(document, path, diagnostics);
        var context = new BindContext(path, Environment.CurrentDirectory, diagnostics, hasSyntaxErrors: false, conditions: null);
        var tests = new List<ConfigTest>();
        switch (root.Find("tests")?.Value)
        {
            case null:
                break;
            case TomlTableArray array:
                for (int i = 0; i < array.Tables.Count; i++)
                {
                    if (Bind(array.Tables[i], i, config, context) is { } test)
                    {
                        tests.Add(test);
                    }
                }

                break;
            case var other:
                context.Error(other.Position, $"tests: expected [[tests]] tables, found {other.Describe}");
                break;
        }

        return (tests, diagnostics.Sorted());
    }

    private static ConfigTest? Bind(TomlTable table, int index, EventdConfig config, BindContext context)
    {
        int before = context.Diagnostics.ErrorCount;
        string owner = $"[[tests]] #{index + 1}";
        var reader = new TableReader(context, table, owner);
        reader.Known(TestKeys);
        string? name = reader.String("name");
        if (name is null && reader.Entry("name") is null)
        {
            context.Error(table.Position, $"{owner}: missing required key 'name' (what the test checks, e.g. name = \"small purchases are dropped\")");
        }

        string label = name is null ? owner : $"test '{name}'";
        var inputs = new List<TestInput>();
        if (Subtable(reader, "inputs", label, context) is { } inputsTable)
        {
            var perSource = new TableReader(context, inputsTable, $"{label}: inputs");
            foreach (TomlEntry entry in inputsTable.Entries)
            {
                perSource.Known([entry.Key]);
                if (!config.Sources.ContainsKey(entry.Key))
                {
                    context.Error(entry.KeyPosition,
                        $"{label}: inputs: unknown source '{entry.Key}'{Suggestions.DidYouMean(entry.Key, config.Sources.Keys)}; events are fed to sources ({string.Join(", ", config.Sources.Keys)})");
                    continue;
                }

                if (perSource.StringArray(entry.Key) is { } events)
                {
                    for (int i = 0; i < events.Count; i++)
                    {
                        CheckEvent(events[i].Value, events[i].Position, $"{label}: inputs.{entry.Key}[{i}]", requireTs: true, context);
                    }

                    inputs.Add(new TestInput(entry.Key, [.. events.Select(e => e.Value)]));
                }
            }
        }
        else if (reader.Entry("inputs") is null)
        {
            context.Error(table.Position, $"{label}: missing 'inputs' (e.g. inputs.in = ['{{\"ts\":1,\"type\":\"purchase\",\"value\":5}}'])");
        }

        string from = "";
        var expected = new List<string>();
        var conditions = new List<string>();
        int? count = null;
        if (Subtable(reader, "outputs", label, context) is { } outputsTable)
        {
            var outputs = new TableReader(context, outputsTable, $"{label}: outputs");
            outputs.Known(OutputKeys);
            from = outputs.String("from") ?? "";
            if (outputs.Entry("from") is not { } fromEntry)
            {
                context.Error(outputsTable.Position, $"{label}: outputs: missing 'from' (the transform whose output is checked)");
            }
            else if (from.Length > 0)
            {
                CheckFrom(from, fromEntry.Value.Position, label, config, context);
            }

            if (outputs.StringArray("events") is { } events)
            {
                for (int i = 0; i < events.Count; i++)
                {
                    CheckEvent(events[i].Value, events[i].Position, $"{label}: outputs.events[{i}]", requireTs: false, context);
                    expected.Add(events[i].Value);
                }
            }

            if (outputs.StringArray("conditions") is { } conditionList)
            {
                for (int i = 0; i < conditionList.Count; i++)
                {
                    (string condition, ConfigPosition at) = conditionList[i];
                    if (!FilterProgram.TryCompile(condition, out _, out ExpressionError error))
                    {
                        context.Error(at, $"{label}: outputs.conditions[{i}]: {error.Message} (at column {error.Column} of the condition)");
                    }

                    conditions.Add(condition);
                }
            }

            count = outputs.Int32("count", 0, int.MaxValue);
            if (outputs.Entry("events") is null && outputs.Entry("conditions") is null && outputs.Entry("count") is null)
            {
                context.Error(outputsTable.Position, $"{label}: outputs: nothing to check; give events, conditions or count");
            }

            outputs.ReportUnknownKeys();
        }
        else if (reader.Entry("outputs") is null)
        {
            context.Error(table.Position, $"{label}: missing 'outputs' (e.g. outputs.from = \"purchases\" and outputs.events = [...])");
        }

        reader.ReportUnknownKeys();
        return context.Diagnostics.ErrorCount == before && name is not null
            ? new ConfigTest(name, table.Position, inputs, from, expected, conditions, count)
            : null;
    }

    private static TomlTable? Subtable(TableReader reader, string key, string label, BindContext context)
    {
        switch (reader.Entry(key)?.Value)
        {
            case null:
                return null;
            case TomlTable table:
                return table;
            case var other:
                context.Error(other.Position, $"{label}: {key}: expected a table (e.g. {key}.NAME = ...), found {other.Describe}");
                return null;
        }
    }

    private static void CheckFrom(string from, ConfigPosition at, string label, EventdConfig config, BindContext context)
    {
        int dot = from.IndexOf('.', StringComparison.Ordinal);
        string component = dot < 0 ? from : from[..dot];
        if (!config.Transforms.TryGetValue(component, out TransformConfig? transform))
        {
            string hint = config.Sources.ContainsKey(component) ? " (a source's events are the inputs themselves; name a transform)"
                : config.Sinks.ContainsKey(component) ? " (a sink writes what its inputs emit; name the transform it reads)"
                : Suggestions.DidYouMean(component, config.Transforms.Keys);
            context.Error(at, $"{label}: outputs.from: unknown transform '{component}'{hint}");
            return;
        }

        if (dot >= 0)
        {
            string output = from[(dot + 1)..];
            if (transform is not RouteTransformConfig route)
            {
                context.Error(at, $"{label}: outputs.from: '{component}' is a {transform.TypeName}, which has no named outputs");
            }
            else if (output != RouteTransformConfig.UnmatchedOutput && !route.Routes.Any(r => r.Name == output))
            {
                string[] names = [.. route.Routes.Select(r => r.Name), RouteTransformConfig.UnmatchedOutput];
                context.Error(at, $"{label}: outputs.from: route '{component}' has no output '{output}'{Suggestions.DidYouMean(output, names)}; its outputs are {string.Join(", ", names)}");
            }
        }
        else if (transform is RouteTransformConfig route)
        {
            context.Error(at, $"{label}: outputs.from: name one output of route '{component}', e.g. \"{component}.{route.Routes.FirstOrDefault().Name}\"");
        }
    }

    private static void CheckEvent(string json, ConfigPosition at, string key, bool requireTs, BindContext context)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                context.Error(at, $"{key}: an event is one JSON object, found {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}");
            }
            else if (requireTs && !doc.RootElement.TryGetProperty("ts", out _))
            {
                context.Error(at, $"{key}: the event has no \"ts\"; a test's time comes from its events (integer Unix nanoseconds or RFC 3339)");
            }
        }
        catch (JsonException e)
        {
            context.Error(at, $"{key}: not valid JSON: {e.Message.Split(" Path:", 2)[0]}");
        }
    }
}
