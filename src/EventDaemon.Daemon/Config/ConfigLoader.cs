using EventDaemon.Daemon.Config.Internal;
using Tomlyn;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace EventDaemon.Daemon.Config;

/// <summary>
/// Reads a TOML config into a validated <see cref="EventdConfig"/>, or reports everything wrong
/// with it at once: TOML syntax, unknown tables and keys, wrong types and values, and how the
/// components connect. Used by <c>eventd run</c>, <c>eventd validate</c> and <c>reload</c>.
/// </summary>
/// <remarks>
/// <para>
/// Only Tomlyn's syntax tree is used (no reflection-based mapping), so loading is safe under
/// Native AOT and every key and value keeps its line and column.
/// </para>
/// <para>
/// Relative paths in the config (<c>state_dir</c>, a unix source's <c>path</c>, an enrich
/// <c>table</c>, a file sink's <c>path</c>) are resolved against the config file's directory;
/// the embedded default has none.
/// </para>
/// <para>
/// A component that feeds no sink is a warning, not an error: the config runs (events are
/// processed and dropped), which is what one wants while editing a pipeline one sink at a time,
/// and <c>validate</c> still prints the warning.
/// </para>
/// </remarks>
public static class ConfigLoader
{
    /// <summary>Reads and checks the file at <paramref name="path"/>.</summary>
    /// <param name="conditions">Checks filter and route conditions; <c>null</c> checks only that they are non-empty strings.</param>
    public static ConfigResult Load(string path, IConditionValidator? conditions = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path))
        {
            return Unreadable(path, "is a directory, not a config file");
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Unreadable(path, "config file not found (check --config; without it, eventd run uses its embedded default)");
        }
        catch (UnauthorizedAccessException)
        {
            return Unreadable(path, "permission denied reading the config file");
        }
        catch (IOException e)
        {
            return Unreadable(path, $"cannot read the config file: {e.Message}");
        }

        return Parse(text, path, conditions, checkMachine: true);
    }

    /// <summary>Checks config <paramref name="text"/>; <paramref name="path"/> names it in messages and anchors relative paths.</summary>
    /// <param name="checkMachine">Also check what <c>run</c> opens on this machine (enrich tables, file
    /// sink paths, <c>state_dir</c>, memory); <see cref="Load"/> always does.</param>
    public static ConfigResult Parse(string text, string path, IConditionValidator? conditions = null, bool checkMachine = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(path);
        var diagnostics = new DiagnosticBag();
        DocumentSyntax document;
        try
        {
            document = SyntaxParser.Parse(text, path, validate: false);
        }
        catch (TomlException e)
        {
            // Thrown, not reported, for input nested deeper than the parser allows.
            string message = e.Message.Contains("maximum depth", StringComparison.Ordinal)
                ? "arrays or inline tables are nested too deeply (more than 64 levels)"
                : e.Message;
            diagnostics.Error(new ConfigPosition(path, 1, 1), message);
            return new ConfigResult(null, diagnostics.Sorted());
        }

        // Only the first syntax error is reported: the parser's recovery after it (a header missing
        // its ']' makes every key of the next line "unexpected") yields errors that are not the
        // operator's. Their lines are still kept quiet, like the first one's.
        var hidden = new List<int>();
        bool reported = false;
        foreach (DiagnosticMessage message in document.Diagnostics.OrderBy(m => m.Span.Start.Line).ThenBy(m => m.Span.Start.Column))
        {
            var at = new ConfigPosition(path, message.Span.Start.Line + 1, message.Span.Start.Column + 1);
            if (message.Kind == DiagnosticMessageKind.Warning)
            {
                diagnostics.Add(at, DiagnosticSeverity.Warning, TomlSyntaxMessages.Reword(message.Message));
            }
            else if (!reported)
            {
                diagnostics.Add(at, DiagnosticSeverity.Error, TomlSyntaxMessages.Reword(message.Message));
                reported = true;
            }
            else
            {
                hidden.Add(at.Line);
            }
        }

        diagnostics.EndOfSyntaxErrors(hidden);
        var context = new BindContext(path, BaseDirectoryOf(path), diagnostics, diagnostics.HasErrors, conditions, checkMachine);
        TomlTable root = TomlTreeBuilder.Build(document, path, diagnostics);
        (DaemonSettings? daemon, JournalSettings? journal, List<ComponentDraft> components) = ConfigBinder.Bind(root, context);
        Dictionary<ComponentDraft, List<ResolvedInput>>? edges = PipelineGraph.Check(components, context);
        if (diagnostics.HasErrors)
        {
            return new ConfigResult(null, diagnostics.Sorted());
        }

        if (daemon is null || edges is null || components.Any(c => c.Config is null))
        {
            // Every path that leaves a part unbound reports an error first; reaching here is a bug.
            diagnostics.Error(context.Start, "the config could not be built although no error was found (a bug in eventd; please report it)");
            return new ConfigResult(null, diagnostics.Sorted());
        }

        return new ConfigResult(Build(path, daemon, components, edges).WithJournal(journal), diagnostics.Sorted());
    }

    private static EventdConfig Build(
        string path, DaemonSettings daemon, List<ComponentDraft> components, Dictionary<ComponentDraft, List<ResolvedInput>> edges)
    {
        var sources = new ComponentMap<SourceConfig>(components.Select(c => c.Config).OfType<SourceConfig>());
        var transforms = new ComponentMap<TransformConfig>(components.Select(c => c.Config).OfType<TransformConfig>());
        var sinks = new ComponentMap<SinkConfig>(components.Select(c => c.Config).OfType<SinkConfig>());
        List<TopologyStage> stages = [.. PipelineGraph.Order(components, edges).Select(stage => new TopologyStage(
            (StageConfig)stage.Config!,
            new EquatableArray<StageInput>(edges[stage].Select(input => new StageInput(input.From.Name, input.From.Kind, input.Output)))))];
        var topology = new Topology(sources.Ordered, stages, PipelineGraph.Unconnected(components, edges));
        return new EventdConfig(path, daemon, sources, transforms, sinks, topology);
    }

    /// <summary>The directory relative paths in the config are resolved against.</summary>
    private static string BaseDirectoryOf(string path)
    {
        if (path.Length == 0 || path == EmbeddedConfig.SourceName)
        {
            return Environment.CurrentDirectory;
        }

        try
        {
            return Path.GetDirectoryName(Path.GetFullPath(path)) ?? Environment.CurrentDirectory;
        }
        catch (ArgumentException)
        {
            return Environment.CurrentDirectory; // a name that is not a path (it only labels messages)
        }
    }

    private static ConfigResult Unreadable(string path, string message) =>
        new(null, [new ConfigDiagnostic(new ConfigPosition(path, 0, 0), DiagnosticSeverity.Error, message)]);
}
