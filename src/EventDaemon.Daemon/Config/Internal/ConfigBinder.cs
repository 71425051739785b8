namespace EventDaemon.Daemon.Config.Internal;

/// <summary>Turns the merged TOML tree into the typed model, reporting every problem it meets.</summary>
internal static class ConfigBinder
{
    public static (DaemonSettings? Daemon, JournalSettings? Journal, List<ComponentDraft> Components) Bind(TomlTable root, BindContext context)
    {
        CheckTopLevel(root, context);
        DaemonSettings? daemon = DaemonBinder.Bind(TableOf(root, ConfigNames.Daemon, context), context);
        JournalSettings? journal = JournalBinder.Bind(TableOf(root, ConfigNames.Journal, context), daemon, context);
        int defaultMaxEventBytes = daemon?.MaxEventBytes ?? DaemonSettings.DefaultMaxEventBytes;
        long arenaBytes = daemon?.ArenaSize.Bytes ?? long.MaxValue;

        var components = new List<ComponentDraft>();
        foreach ((string name, TomlTable table, ConfigPosition keyPosition) in Components(root, ConfigNames.Sources, "source", context))
        {
            components.Add(SourceBinder.Bind(name, table, keyPosition, context, defaultMaxEventBytes, arenaBytes));
        }

        foreach ((string name, TomlTable table, ConfigPosition keyPosition) in Components(root, ConfigNames.Transforms, "transform", context))
        {
            components.Add(TransformBinder.Bind(name, table, keyPosition, context));
        }

        foreach ((string name, TomlTable table, ConfigPosition keyPosition) in Components(root, ConfigNames.Sinks, "sink", context))
        {
            components.Add(SinkBinder.Bind(name, table, keyPosition, context));
        }

        if (!context.HasSyntaxErrors)
        {
            if (!components.Any(c => c.Kind == ComponentKind.Source))
            {
                context.Error(context.Start, "no sources are configured (add a [sources.NAME] table)");
            }

            if (!components.Any(c => c.Kind == ComponentKind.Sink))
            {
                context.Error(context.Start, "no sinks are configured (add a [sinks.NAME] table)");
            }
        }

        return (daemon, journal, components);
    }

    private static void CheckTopLevel(TomlTable root, BindContext context)
    {
        foreach (TomlEntry entry in root.Entries)
        {
            if (ConfigNames.TopLevelTables.Contains(entry.Key))
            {
                continue;
            }

            if (entry.Key == ConfigNames.Tests)
            {
                // Their content is checked by eventd test (Testing/TestSuiteLoader), against this config.
                if (entry.Value is not TomlTableArray)
                {
                    context.Error(entry.KeyPosition, $"tests: expected [[tests]] tables, found {entry.Value.Describe}");
                }

                continue;
            }

            if (entry.Value is TomlTable or TomlTableArray)
            {
                string suggestion = Suggestions.Closest(entry.Key, ConfigNames.TopLevelTables) is { } match ? $" (did you mean [{match}]?)" : "";
                context.Error(entry.KeyPosition, $"unknown table [{entry.Key}]{suggestion}; a config has [daemon], [journal], [sources.NAME], [transforms.NAME] and [sinks.NAME]");
            }
            else if (ConfigNames.DaemonKeys.Contains(entry.Key))
            {
                context.Error(entry.KeyPosition, $"key '{entry.Key}' belongs in the [daemon] table");
            }
            else
            {
                context.Error(entry.KeyPosition, $"unknown key '{entry.Key}' at the top level{Suggestions.DidYouMean(entry.Key, ConfigNames.TopLevelTables)}");
            }
        }
    }

    /// <summary>The table at <paramref name="key"/> of the root, or <c>null</c> when absent or not a table (reported).</summary>
    private static TomlTable? TableOf(TomlTable root, string key, BindContext context)
    {
        switch (root.Find(key)?.Value)
        {
            case null:
                return null;
            case TomlTable table:
                return table;
            case var other:
                context.Error(other.Position, $"{key}: expected a table, found {other.Describe}");
                return null;
        }
    }

    private static IEnumerable<(string Name, TomlTable Table, ConfigPosition KeyPosition)> Components(
        TomlTable root, string kindTable, string kind, BindContext context)
    {
        if (TableOf(root, kindTable, context) is not { } tables)
        {
            yield break;
        }

        foreach (TomlEntry entry in tables.Entries)
        {
            if (!ConfigNames.IsValidName(entry.Key))
            {
                context.Error(entry.KeyPosition, $"invalid {kind} name '{entry.Key}': use letters, digits, '_' and '-' only");
                continue;
            }

            if (entry.Value is TomlTable table)
            {
                yield return (entry.Key, table, entry.KeyPosition);
            }
            else
            {
                context.Error(entry.Value.Position, $"{kindTable}.{entry.Key}: expected a table, found {entry.Value.Describe} (write [{kindTable}.{entry.Key}] and its keys below it)");
            }
        }
    }
}
