using System.Text;
using EventDaemon.Daemon.Config;

namespace EventDaemon.Cli.Graph;

/// <summary>
/// <c>eventd graph</c> as Graphviz DOT: sources as boxes, rings as cylinders, one dashed cluster
/// per thread group (a fused chain is one cluster), edges from what each stage reads.
/// </summary>
internal static class GraphDot
{
    public static string Write(TopologyGraph graph)
    {
        var dot = new StringBuilder();
        dot.Append("digraph eventd {\n");
        dot.Append("  rankdir=LR;\n");
        dot.Append("  graph [fontname=\"monospace\", fontsize=10];\n");
        dot.Append("  node [fontname=\"monospace\", fontsize=10];\n");
        dot.Append("  edge [fontname=\"monospace\", fontsize=9];\n");
        foreach (GraphSource source in graph.Sources)
        {
            dot.Append("  ").Append(Id("source", source.Name)).Append(" [shape=box, style=rounded, label=")
                .Append(Quote($"{source.Name}\n{source.Type} source")).Append("];\n");
        }

        foreach (string ring in graph.Rings)
        {
            string label = ring == TopologyGraph.MainRing ? $"ring {ring}\n{graph.RingSize} slots" : $"ring {ring}\nresults of {ring}";
            dot.Append("  ").Append(Id("ring", ring)).Append(" [shape=cylinder, label=").Append(Quote(label)).Append("];\n");
        }

        foreach (ThreadGroup group in graph.Groups)
        {
            string label = $"thread group {group.Id}: {TopologyGraph.Describe(group)}{(group.Members.Count > 1 ? ", fused" : "")}";
            dot.Append("  subgraph ").Append(Id("cluster", $"group{group.Id}")).Append(" {\n");
            dot.Append("    label=").Append(Quote(label)).Append("; style=dashed;\n");
            foreach (string member in group.Members)
            {
                GraphStage stage = graph.Stages.First(s => s.Name == member);
                string shape = stage.Kind == ComponentKind.Sink ? "box" : "ellipse";
                string kind = stage.Kind == ComponentKind.Sink ? "sink" : "transform";
                dot.Append("    ").Append(Id("stage", stage.Name)).Append(" [shape=").Append(shape).Append(", label=")
                    .Append(Quote($"{stage.Name}\n{stage.Type} {kind}")).Append("];\n");
            }

            dot.Append("  }\n");
        }

        foreach (GraphSource source in graph.Sources)
        {
            dot.Append("  ").Append(Id("source", source.Name)).Append(" -> ").Append(Id("ring", TopologyGraph.MainRing)).Append(";\n");
        }

        var aggregatesDrawn = new HashSet<string>(StringComparer.Ordinal);
        foreach (GraphStage stage in graph.Stages)
        {
            // Events from a source are read from the main ring; an aggregate's results from its own.
            string[] fromSources = [.. stage.Inputs.Where(i => i.Kind == ComponentKind.Source).Select(i => i.Component)];
            if (fromSources.Length > 0)
            {
                dot.Append("  ").Append(Id("ring", TopologyGraph.MainRing)).Append(" -> ").Append(Id("stage", stage.Name))
                    .Append(" [label=").Append(Quote(string.Join(", ", fromSources))).Append("];\n");
            }

            foreach (StageInput input in stage.Inputs.Where(i => i.Kind != ComponentKind.Source))
            {
                if (stage.Ring == input.Component)
                {
                    if (aggregatesDrawn.Add(input.Component))
                    {
                        dot.Append("  ").Append(Id("stage", input.Component)).Append(" -> ").Append(Id("ring", input.Component)).Append(";\n");
                    }

                    dot.Append("  ").Append(Id("ring", input.Component)).Append(" -> ").Append(Id("stage", stage.Name)).Append(";\n");
                    continue;
                }

                dot.Append("  ").Append(Id("stage", input.Component)).Append(" -> ").Append(Id("stage", stage.Name));
                var attributes = new List<string>();
                if (input.Output is { } output)
                {
                    attributes.Add($"label={Quote(output)}");
                }

                if (stage.Fused && stage.Inputs.Count == 1)
                {
                    attributes.Add("style=bold");
                }

                dot.Append(attributes.Count > 0 ? $" [{string.Join(", ", attributes)}]" : "").Append(";\n");
            }
        }

        dot.Append("}\n");
        return dot.ToString();
    }

    /// <summary>Node ids are prefixed by kind: a source, a stage and a ring may share a name.</summary>
    private static string Id(string kind, string name) => Quote($"{kind}:{name}");

    private static string Quote(string text) =>
        "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal) + "\"";
}
