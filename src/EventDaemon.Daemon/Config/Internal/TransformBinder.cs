using EventDaemon.Stages.Aggregation;
using Tomlyn.Syntax;

namespace EventDaemon.Daemon.Config.Internal;

/// <summary>Binds one <c>[transforms.NAME]</c> table.</summary>
internal static class TransformBinder
{
    private const int MaxGroupsLimit = 100_000_000;

    private const int MaxKeysLimit = 100_000_000;

    public static ComponentDraft Bind(string name, TomlTable table, ConfigPosition keyPosition, BindContext context)
    {
        ConfigPosition declared = ComponentBinding.Declared(table, keyPosition);
        var draft = new ComponentDraft(name, ComponentKind.Transform, declared);
        int errorsBefore = context.Diagnostics.ErrorCount;
        var reader = new TableReader(context, table, $"transform '{name}'", declared);

        string? type = ComponentBinding.ReadType(reader, ConfigNames.TransformTypes, "transform");
        ComponentBinding.ReadInputs(reader, draft);
        EquatableArray<string> inputs = ComponentBinding.InputNames(draft);
        TransformConfig? config = type switch
        {
            "filter" => Filter(reader, name, declared, inputs),
            "aggregate" => Aggregate(reader, name, declared, inputs),
            "enrich" => Enrich(reader, name, declared, inputs),
            "route" => Route(reader, name, declared, inputs, draft),
            "sample" => Sample(reader, name, declared, inputs),
            "throttle" => Throttle(reader, name, declared, inputs),
            "dedupe" => Dedupe(reader, name, declared, inputs),
            _ => null,
        };
        int? threads = Threads(reader, type, config);
        if (config is not null && threads is { } t)
        {
            config = config with { Threads = t };
        }

        ComponentBinding.ReportUnknownKeys(reader, type, ConfigNames.TransformKeys, "transform");
        draft.Config = context.Diagnostics.ErrorCount == errorsBefore ? config : null;
        return draft;
    }

    /// <summary><c>threads</c>: an integer from 1, or "auto". A transform whose state is one for all
    /// events (a throttle or sample without a key) cannot be split and is refused.</summary>
    private static int? Threads(TableReader reader, string? type, TransformConfig? config)
    {
        if (reader.Entry("threads") is not { } entry || entry.Value is TomlValue { Syntax: null })
        {
            return null;
        }

        int threads;
        if (entry.Value is TomlValue { Syntax: StringValueSyntax text })
        {
            if (text.Value != "auto")
            {
                reader.Context.Error(entry.Value.Position, $"threads: expected an integer between 1 and {TransformConfig.MaxThreads} or \"auto\", found \"{text.Value}\"");
                return null;
            }

            threads = TransformConfig.AutoThreads;
        }
        else if (reader.Int32("threads", 1, TransformConfig.MaxThreads) is { } n)
        {
            threads = n;
        }
        else
        {
            return null;
        }

        string? unsplittable = config switch
        {
            SampleTransformConfig { Key: null } => "a sample without a key keeps 1 in rate of all its events",
            ThrottleTransformConfig { Key: null } => "a throttle without a key has one budget for all its events",
            _ => null,
        };
        if (threads != 1 && unsplittable is not null)
        {
            reader.Context.Error(entry.Value.Position, $"threads: {unsplittable}, so it runs on one thread; give it a key to split it by key");
            return null;
        }

        return threads;
    }

    private static FilterTransformConfig? Filter(TableReader reader, string name, ConfigPosition declared, EquatableArray<string> inputs)
    {
        string? condition = Condition(reader, "condition", "condition");
        if (reader.Table.Find("condition") is null)
        {
            reader.Missing("condition", " (e.g. condition = 'type == \"purchase\"')");
        }

        return condition is null ? null : new FilterTransformConfig(name, declared, inputs, condition);
    }

    private static AggregateTransformConfig? Aggregate(TableReader reader, string name, ConfigPosition declared, EquatableArray<string> inputs)
    {
        Duration? window = reader.Duration("window", new Duration(1));
        if (reader.Table.Find("window") is null)
        {
            reader.Missing("window", " (e.g. window = \"1s\")");
        }

        EquatableArray<FieldRef> groupBy = GroupBy(reader);
        EquatableArray<AggregateMetric>? metrics = Metrics(reader);
        AggregateTime? timeValue = reader.Choice("time", ConfigNames.Times);
        AggregateTime time = timeValue ?? AggregateTime.Processing;
        Duration? lateness = reader.Duration("allowed_lateness", Duration.Zero);
        if (lateness is not null && time != AggregateTime.Event && (timeValue is not null || reader.Table.Find("time") is null))
        {
            string now = timeValue is null ? "the default is \"processing\"" : "this aggregate has time = \"processing\"";
            reader.Context.Error(reader.Table.Find("allowed_lateness")!.KeyPosition, $"allowed_lateness: only applies with time = \"event\" ({now})");
        }
        else if (lateness is { } late && window is { } span && span.Nanoseconds > 0 && OpenWindows(late, span) > AggregateSpec.MaxOpenWindows)
        {
            // Events in windows beyond the bound would be dropped at run time: refuse the config.
            long most = AggregateSpec.MaxOpenWindows - 2;
            reader.Context.Error(reader.Table.Find("allowed_lateness")!.KeyPosition,
                $"allowed_lateness: {late} keeps up to {OpenWindows(late, span)} windows of {span} open; an aggregate holds at most {AggregateSpec.MaxOpenWindows} (allowed_lateness ≤ {most} × window)");
        }

        int maxGroups = reader.Int32("max_groups", 1, MaxGroupsLimit) ?? AggregateTransformConfig.DefaultMaxGroups;
        return window is { } w && metrics is { } m
            ? new AggregateTransformConfig(name, declared, inputs, w, groupBy, m, time, lateness ?? Duration.Zero, maxGroups)
            : null;
    }

    /// <summary>Windows open at once in the worst case: those the lateness spans, the newest one,
    /// and one straddling the watermark.</summary>
    private static long OpenWindows(Duration lateness, Duration window) =>
        ((lateness.Nanoseconds + window.Nanoseconds - 1) / window.Nanoseconds) + 2;

    private static EquatableArray<FieldRef> GroupBy(TableReader reader)
    {
        List<(string Value, ConfigPosition Position)>? items = reader.StringArray("group_by");
        if (items is null)
        {
            return EquatableArray<FieldRef>.Empty;
        }

        var fields = new List<(FieldRef Value, ConfigPosition Position)>();
        for (int i = 0; i < items.Count; i++)
        {
            if (FieldRef.TryParse(items[i].Value, out FieldRef field, out string error))
            {
                fields.Add((field, items[i].Position));
            }
            else
            {
                reader.Context.Error(items[i].Position, $"group_by[{i}]: {error}");
            }
        }

        reader.CheckDistinct("group_by", fields, field => $"'{field}'");
        return new EquatableArray<FieldRef>(fields.Select(f => f.Value).Distinct());
    }

    private static EquatableArray<AggregateMetric>? Metrics(TableReader reader)
    {
        List<(string Value, ConfigPosition Position)>? items = reader.StringArray("metrics");
        TomlEntry? entry = reader.Table.Find("metrics");
        if (entry is null)
        {
            reader.Missing("metrics", $" (some of {ConfigNames.Metrics.List})");
            return null;
        }

        if (items is null)
        {
            return null;
        }

        if (items.Count == 0)
        {
            reader.Context.Error(entry.Value.Position, $"metrics: must list at least one of {ConfigNames.Metrics.List}");
            return null;
        }

        var metrics = new List<(AggregateMetric Value, ConfigPosition Position)>();
        bool valid = true;
        for (int i = 0; i < items.Count; i++)
        {
            (string text, ConfigPosition position) = items[i];
            if (ConfigNames.Metrics.TryParse(text, out AggregateMetric metric))
            {
                metrics.Add((metric, position));
            }
            else
            {
                reader.Context.Error(position, $"metrics[{i}]: unknown metric '{text}'{Suggestions.DidYouMean(text, ConfigNames.Metrics.Names)}; expected some of {ConfigNames.Metrics.List}");
                valid = false;
            }
        }

        valid &= reader.CheckDistinct("metrics", metrics, metric => $"'{ConfigNames.Metrics.NameOf(metric)}'");
        return valid ? new EquatableArray<AggregateMetric>(metrics.Select(m => m.Value)) : null;
    }

    private static EnrichTransformConfig? Enrich(TableReader reader, string name, ConfigPosition declared, EquatableArray<string> inputs)
    {
        FieldRef? field = reader.Field("field");
        if (reader.Table.Find("field") is null)
        {
            reader.Missing("field", " (the event field to join on, e.g. field = \".user_id\")");
        }

        string? table = reader.Path("table");
        if (reader.Table.Find("table") is null)
        {
            reader.Missing("table", " (the CSV file to join against)");
        }

        string? keyColumn = reader.Text("key_column");
        EquatableArray<string> columns = EquatableArray<string>.Empty;
        if (reader.StringArray("columns") is { } items)
        {
            if (items.Count == 0)
            {
                reader.Context.Error(reader.Table.Find("columns")!.Value.Position, "columns: must list at least one column (leave it out to add every column)");
            }
            else if (reader.CheckDistinct("columns", items, column => $"'{column}'"))
            {
                columns = new EquatableArray<string>(items.Select(item => item.Value));
            }
        }

        if (table is not null && reader.Context.CheckMachine)
        {
            MachineChecks.EnrichTable(reader.Context, table, keyColumn, [.. columns], reader.Entry("table")!.Value.Position);
        }

        return field is { } f && table is not null
            ? new EnrichTransformConfig(name, declared, inputs, f, table, keyColumn, columns)
            : null;
    }

    private static RouteTransformConfig? Route(TableReader reader, string name, ConfigPosition declared, EquatableArray<string> inputs, ComponentDraft draft)
    {
        draft.IsRoute = true;
        TomlEntry? entry = reader.Entry("routes");
        if (entry is null)
        {
            reader.Missing("routes", " (a table of output = condition, e.g. routes = { high = 'value > 100' })");
            return null;
        }

        if (entry.Value is TomlValue { Syntax: null })
        {
            return null;
        }

        if (entry.Value is not TomlTable routes)
        {
            reader.TypeError("routes", "a table of output = condition", entry.Value);
            return null;
        }

        if (routes.Entries.Count == 0)
        {
            reader.Context.Error(routes.Position, "routes: must define at least one output");
            return null;
        }

        int errorsBefore = reader.Context.Diagnostics.ErrorCount;
        bool namesValid = true;
        var outputs = new List<RouteOutput>();
        foreach (TomlEntry route in routes.Entries)
        {
            string key = $"routes.{route.Key}";
            if (route.Key == RouteTransformConfig.UnmatchedOutput)
            {
                reader.Context.Error(route.KeyPosition, $"{key}: '{RouteTransformConfig.UnmatchedOutput}' is reserved for the events no route matched");
                namesValid = false;
                continue;
            }

            if (!ConfigNames.IsValidName(route.Key))
            {
                reader.Context.Error(route.KeyPosition, $"{key}: invalid output name '{route.Key}': use letters, digits, '_' and '-' only");
                namesValid = false;
                continue;
            }

            if (route.Value is TomlValue { Syntax: StringValueSyntax { Value: { } condition } } value)
            {
                reader.Context.CheckCondition(key, condition, value);
                outputs.Add(new RouteOutput(route.Key, condition));
            }
            else if (route.Value is not TomlValue { Syntax: null })
            {
                reader.TypeError(key, "a string (the output's condition)", route.Value);
                namesValid = false;
            }
        }

        // Downstream references to this route's outputs are checked whenever the output names
        // are all known, even if a condition is wrong, so both mistakes are reported together.
        if (namesValid)
        {
            draft.RouteOutputs = [.. outputs.Select(o => o.Name)];
        }

        return reader.Context.Diagnostics.ErrorCount == errorsBefore
            ? new RouteTransformConfig(name, declared, inputs, new EquatableArray<RouteOutput>(outputs))
            : null;
    }

    private static SampleTransformConfig? Sample(TableReader reader, string name, ConfigPosition declared, EquatableArray<string> inputs)
    {
        int? rate = reader.Int32("rate", 1, int.MaxValue);
        if (reader.Table.Find("rate") is null)
        {
            reader.Missing("rate", " (keep 1 event in N, e.g. rate = 10)");
        }

        FieldRef? key = reader.Field("key");
        return rate is { } r ? new SampleTransformConfig(name, declared, inputs, r, key) : null;
    }

    private static ThrottleTransformConfig? Throttle(TableReader reader, string name, ConfigPosition declared, EquatableArray<string> inputs)
    {
        int? limit = reader.Int32("limit", 1, int.MaxValue);
        if (reader.Table.Find("limit") is null)
        {
            reader.Missing("limit", " (events per second per key, e.g. limit = 1000)");
        }

        FieldRef? key = reader.Field("key");
        int maxKeys = reader.Int32("max_keys", 1, MaxKeysLimit) ?? ThrottleTransformConfig.DefaultMaxKeys;
        return limit is { } l ? new ThrottleTransformConfig(name, declared, inputs, l, key, maxKeys) : null;
    }

    private static DedupeTransformConfig? Dedupe(TableReader reader, string name, ConfigPosition declared, EquatableArray<string> inputs)
    {
        FieldRef? field = reader.Field("field");
        if (reader.Table.Find("field") is null)
        {
            reader.Missing("field", " (the field whose repeats are dropped, e.g. field = \".id\")");
        }

        Duration? window = reader.Duration("window", new Duration(1));
        if (reader.Table.Find("window") is null)
        {
            reader.Missing("window", " (how long a value is remembered, e.g. window = \"1m\")");
        }

        int maxKeys = reader.Int32("max_keys", 1, MaxKeysLimit) ?? DedupeTransformConfig.DefaultMaxKeys;
        return field is { } f && window is { } w ? new DedupeTransformConfig(name, declared, inputs, f, w, maxKeys) : null;
    }

    /// <summary>A condition string, checked by the configured validator with its errors placed in the file.</summary>
    private static string? Condition(TableReader reader, string key, string messageKey)
    {
        StringValueSyntax? syntax = reader.Value<StringValueSyntax>(key, "a string (a condition)", out TomlValue? value);
        if (syntax?.Value is not { } condition)
        {
            return null;
        }

        reader.Context.CheckCondition(messageKey, condition, value!);
        return condition;
    }
}
