namespace EventDaemon.Daemon.Config.Internal;

/// <summary>
/// Checks how components connect (names unique across kinds, inputs that exist and can be read,
/// no cycles, every branch reaching a sink) and orders the stages for the ring.
/// </summary>
internal static class PipelineGraph
{
    /// <summary>Sources and a ring's stage outputs are bits of one 64-bit word in every slot.</summary>
    public const int MaxSources = 64;

    /// <inheritdoc cref="MaxSources"/>
    public const int MaxBits = 64;

    /// <summary>
    /// 256 transforms and sinks: each runs on a consumer thread of its own (unless fused) and each
    /// sink holds an output buffer of at least 256 KiB (sized from max_event_bytes), so thousands of
    /// them exhaust threads or address space at start; past a few dozen, route to fewer sinks.
    /// </summary>
    public const int MaxStages = 256;

    private const string MainStream = "";

    /// <summary>Reports every problem with the graph; returns the resolved inputs of each stage when there is none.</summary>
    public static Dictionary<ComponentDraft, List<ResolvedInput>>? Check(
        List<ComponentDraft> components, BindContext context)
    {
        Dictionary<string, ComponentDraft> byName = UniqueNames(components, context);
        if (context.HasSyntaxErrors)
        {
            return null; // what looks unknown may only be unreadable; see BindContext.HasSyntaxErrors
        }

        int errorsBefore = context.Diagnostics.ErrorCount;
        var edges = new Dictionary<ComponentDraft, List<ResolvedInput>>();
        foreach (ComponentDraft stage in components.Where(c => c.Kind != ComponentKind.Source))
        {
            edges[stage] = Resolve(stage, byName, context);
        }

        ReportCycles(components, edges, context);
        if (context.Diagnostics.ErrorCount != errorsBefore)
        {
            return null;
        }

        if (context.Diagnostics.HasErrors)
        {
            return null; // "not connected" is noise while a stage's inputs or settings are wrong
        }

        ReportLimits(components, edges, context);
        if (context.Diagnostics.HasErrors)
        {
            return null;
        }

        ReportUnconnected(components, edges, context);
        return edges;
    }

    /// <summary>
    /// What the ring can carry, checked here so that <c>validate</c> refuses what the pipeline
    /// builder would: each limit at the component that goes past it.
    /// </summary>
    /// <remarks>
    /// A stream is the events one ring carries: the sources' (the main ring), or one aggregate's
    /// results (a ring of its own). A stage reads one stream; each filter, sample, throttle, dedupe
    /// and enrich takes one pass/fail bit of that ring's 64, a route one per output plus its
    /// unmatched one; sources are bits of the same word.
    /// </remarks>
    private static void ReportLimits(List<ComponentDraft> components, Dictionary<ComponentDraft, List<ResolvedInput>> edges, BindContext context)
    {
        List<ComponentDraft> sources = [.. components.Where(c => c.Kind == ComponentKind.Source).OrderBy(c => c.Position)];
        if (sources.Count > MaxSources)
        {
            context.Error(sources[MaxSources].Position,
                $"source '{sources[MaxSources].Name}': at most {MaxSources} sources per daemon (this config has {sources.Count}); merge sources that share a format onto one address");
        }

        List<ComponentDraft> stages = [.. components.Where(c => c.Kind != ComponentKind.Source).OrderBy(c => c.Position)];
        if (stages.Count > MaxStages)
        {
            context.Error(stages[MaxStages].Position,
                $"{Kind(stages[MaxStages])} '{stages[MaxStages].Name}': at most {MaxStages} transforms and sinks per daemon (this config has {stages.Count}): each is a consumer thread with its own output buffer");
            return;
        }

        var streamOf = new Dictionary<ComponentDraft, string>();
        var bitsUsed = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (ComponentDraft source in sources)
        {
            streamOf[source] = MainStream;
        }

        foreach (ComponentDraft stage in Order(components, edges))
        {
            string? stream = null;
            ComponentDraft? first = null;
            foreach ((ComponentDraft from, _, ConfigPosition at) in edges[stage])
            {
                string theirs = streamOf[from];
                if (stream is not null && stream != theirs)
                {
                    context.Error(at,
                        $"inputs: '{from.Name}' is on the {Describe(theirs)} stream but '{first!.Name}' is on the {Describe(stream)}; "
                        + "an aggregate's results can only be joined with what comes after that aggregate — use one stage per stream");
                    break;
                }

                stream ??= theirs;
                first ??= from;
            }

            stream ??= MainStream;
            if (stage.Config is AggregateTransformConfig)
            {
                streamOf[stage] = stage.Name;
                continue;
            }

            streamOf[stage] = stream;
            int bits = stage.Config switch
            {
                RouteTransformConfig route => route.Routes.Count + 1,
                FilterTransformConfig or SampleTransformConfig or ThrottleTransformConfig or DedupeTransformConfig or EnrichTransformConfig => 1,
                _ => 0,
            };
            int used = bitsUsed.GetValueOrDefault(stream) + bits;
            bitsUsed[stream] = used;
            if (bits > 0 && used > MaxBits && used - bits <= MaxBits)
            {
                context.Error(stage.Position,
                    $"transform '{stage.Name}': at most {MaxBits} filter, sample, throttle, dedupe, enrich and route outputs per stream; this one goes past it on the {Describe(stream)} stream");
            }
        }
    }

    private static string Describe(string stream) => stream == MainStream ? "sources'" : $"aggregate '{stream}'s";

    /// <summary>Transforms in dependency order (declaration order among independent ones), then sinks in declaration order.</summary>
    public static List<ComponentDraft> Order(
        List<ComponentDraft> components, Dictionary<ComponentDraft, List<ResolvedInput>> edges)
    {
        var ordered = new List<ComponentDraft>();
        var placed = new HashSet<ComponentDraft>();
        List<ComponentDraft> pending = [.. components.Where(c => c.Kind == ComponentKind.Transform)];
        while (pending.Count > 0)
        {
            // The graph is acyclic (checked), so some pending transform always has all its inputs placed.
            ComponentDraft next = pending.First(t => edges[t].All(e => e.From.Kind == ComponentKind.Source || placed.Contains(e.From)));
            ordered.Add(next);
            placed.Add(next);
            pending.Remove(next);
        }

        ordered.AddRange(components.Where(c => c.Kind == ComponentKind.Sink));
        return ordered;
    }

    /// <summary>Names that reach no sink, for <see cref="Topology.Unconnected"/>.</summary>
    public static HashSet<string> Unconnected(
        List<ComponentDraft> components, Dictionary<ComponentDraft, List<ResolvedInput>> edges)
    {
        var reaching = new HashSet<ComponentDraft>();
        var work = new Stack<ComponentDraft>(components.Where(c => c.Kind == ComponentKind.Sink));
        while (work.TryPop(out ComponentDraft? stage))
        {
            if (!reaching.Add(stage) || !edges.TryGetValue(stage, out var inputs))
            {
                continue;
            }

            foreach ((ComponentDraft from, _, _) in inputs)
            {
                work.Push(from);
            }
        }

        return [.. components.Where(c => c.Kind != ComponentKind.Sink && !reaching.Contains(c)).Select(c => c.Name)];
    }

    private static Dictionary<string, ComponentDraft> UniqueNames(List<ComponentDraft> components, BindContext context)
    {
        var byName = new Dictionary<string, ComponentDraft>(StringComparer.Ordinal);
        foreach (ComponentDraft component in components.OrderBy(c => c.Position))
        {
            if (byName.TryGetValue(component.Name, out ComponentDraft? first))
            {
                context.Error(component.Position,
                    $"{Kind(component)} '{component.Name}' has the same name as the {Kind(first)} on line {first.Position.Line}; "
                    + "names must be unique across sources, transforms and sinks");
                continue;
            }

            byName.Add(component.Name, component);
        }

        return byName;
    }

    private static List<ResolvedInput> Resolve(
        ComponentDraft stage, Dictionary<string, ComponentDraft> byName, BindContext context)
    {
        var resolved = new List<ResolvedInput>();
        foreach ((string text, ConfigPosition at) in stage.Inputs)
        {
            int dot = text.IndexOf('.', StringComparison.Ordinal);
            string name = dot < 0 ? text : text[..dot];
            string? output = dot < 0 ? null : text[(dot + 1)..];
            if (!byName.TryGetValue(name, out ComponentDraft? from))
            {
                context.Error(at, $"inputs: unknown component '{text}'{Suggestions.DidYouMean(text, Readable(byName.Values, stage))}");
                continue;
            }

            if (from.Kind == ComponentKind.Sink)
            {
                context.Error(at, $"inputs: '{name}' is a sink; sinks have no output to read");
                continue;
            }

            if (from.IsRoute)
            {
                if (output is null)
                {
                    string outputs = from.RouteOutputs is { } known ? $": {string.Join(", ", Outputs(from, known))}" : "";
                    context.Error(at, $"inputs: '{name}' is a route; read one of its outputs{outputs}");
                    continue;
                }

                if (from.RouteOutputs is { } names && output != RouteTransformConfig.UnmatchedOutput && !names.Contains(output))
                {
                    string[] all = [.. names, RouteTransformConfig.UnmatchedOutput];
                    context.Error(at, $"inputs: route '{name}' has no output '{output}'{Suggestions.DidYouMean(output, all)}; its outputs are {string.Join(", ", Outputs(from, names))}");
                    continue;
                }
            }
            else if (output is not null)
            {
                context.Error(at, $"inputs: '{text}' reads an output of '{name}', but only route transforms have named outputs (write '{name}')");
                continue;
            }

            resolved.Add(new ResolvedInput(from, output, at));
        }

        return resolved;
    }

    /// <summary>Everything a stage could name in its inputs, for suggestions.</summary>
    private static IEnumerable<string> Readable(IEnumerable<ComponentDraft> components, ComponentDraft reader)
    {
        foreach (ComponentDraft component in components)
        {
            if (component == reader || component.Kind == ComponentKind.Sink)
            {
                continue;
            }

            if (component.IsRoute && component.RouteOutputs is { } outputs)
            {
                foreach (string output in Outputs(component, outputs))
                {
                    yield return output;
                }
            }
            else
            {
                yield return component.Name;
            }
        }
    }

    private static IEnumerable<string> Outputs(ComponentDraft route, List<string> names) =>
        names.Append(RouteTransformConfig.UnmatchedOutput).Select(output => $"{route.Name}.{output}");

    /// <summary>
    /// Each cycle is reported once, at the first-declared transform on it, where its inputs name the
    /// component that closes the cycle; the message walks the cycle in the direction events flow.
    /// </summary>
    private static void ReportCycles(
        List<ComponentDraft> components,
        Dictionary<ComponentDraft, List<ResolvedInput>> edges,
        BindContext context)
    {
        List<ComponentDraft> transforms = [.. components.Where(c => c.Kind == ComponentKind.Transform)];
        foreach (List<ComponentDraft> component in StronglyConnected(transforms, edges))
        {
            ComponentDraft start = component.OrderBy(c => c.Position).First();
            bool selfLoop = edges[start].Any(e => e.From == start);
            if (component.Count == 1 && !selfLoop)
            {
                continue;
            }

            var members = new HashSet<ComponentDraft>(component);
            (List<ComponentDraft> path, ConfigPosition at) = ShortestCycle(start, members, edges);
            string flow = string.Join(" -> ", path.Select(c => c.Name));
            context.Error(at, $"inputs: reading '{path[^2].Name}' makes a cycle: {flow}");
        }
    }

    /// <summary>From <paramref name="start"/> downstream and back: the names in flow order, and where start's inputs close it.</summary>
    private static (List<ComponentDraft> Path, ConfigPosition At) ShortestCycle(
        ComponentDraft start,
        HashSet<ComponentDraft> members,
        Dictionary<ComponentDraft, List<ResolvedInput>> edges)
    {
        var cameFrom = new Dictionary<ComponentDraft, ComponentDraft> { [start] = start };
        var queue = new Queue<ComponentDraft>();
        queue.Enqueue(start);
        while (queue.TryDequeue(out ComponentDraft? current))
        {
            // Does start read current? Then current -> start closes the cycle.
            foreach ((ComponentDraft from, _, ConfigPosition at) in edges[start])
            {
                if (from == current)
                {
                    var path = new List<ComponentDraft> { start };
                    for (ComponentDraft step = current; step != start; step = cameFrom[step])
                    {
                        path.Insert(1, step);
                    }

                    path.Add(start);
                    return (path, at);
                }
            }

            foreach (ComponentDraft next in members.Where(m => edges[m].Any(e => e.From == current)).OrderBy(m => m.Position))
            {
                if (cameFrom.TryAdd(next, current))
                {
                    queue.Enqueue(next);
                }
            }
        }

        throw new InvalidOperationException("a strongly connected component without a cycle through its first member");
    }

    /// <summary>Tarjan's algorithm over the transforms (sources and sinks cannot be on a cycle).</summary>
    private static List<List<ComponentDraft>> StronglyConnected(
        List<ComponentDraft> transforms,
        Dictionary<ComponentDraft, List<ResolvedInput>> edges)
    {
        var index = new Dictionary<ComponentDraft, int>();
        var low = new Dictionary<ComponentDraft, int>();
        var stack = new Stack<ComponentDraft>();
        var onStack = new HashSet<ComponentDraft>();
        var result = new List<List<ComponentDraft>>();
        int counter = 0;

        void Visit(ComponentDraft node)
        {
            index[node] = low[node] = counter++;
            stack.Push(node);
            onStack.Add(node);
            foreach ((ComponentDraft from, _, _) in edges[node])
            {
                if (from.Kind != ComponentKind.Transform)
                {
                    continue;
                }

                if (!index.ContainsKey(from))
                {
                    Visit(from);
                    low[node] = Math.Min(low[node], low[from]);
                }
                else if (onStack.Contains(from))
                {
                    low[node] = Math.Min(low[node], index[from]);
                }
            }

            if (low[node] == index[node])
            {
                var component = new List<ComponentDraft>();
                ComponentDraft member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                }
                while (member != node);
                result.Add(component);
            }
        }

        foreach (ComponentDraft transform in transforms)
        {
            if (!index.ContainsKey(transform))
            {
                Visit(transform);
            }
        }

        return result;
    }

    private static void ReportUnconnected(
        List<ComponentDraft> components,
        Dictionary<ComponentDraft, List<ResolvedInput>> edges,
        BindContext context)
    {
        HashSet<string> unconnected = Unconnected(components, edges);
        foreach (ComponentDraft component in components.Where(c => unconnected.Contains(c.Name)))
        {
            string dropped = component.Kind == ComponentKind.Source ? "its events are" : "its output is";
            context.Diagnostics.Warning(component.Position, $"{Kind(component)} '{component.Name}' is not connected to any sink; {dropped} dropped");
        }
    }

    private static string Kind(ComponentDraft component) => ConfigNames.KindName(component.Kind);
}
