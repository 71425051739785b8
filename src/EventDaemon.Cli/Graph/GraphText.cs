using System.Text;
using EventDaemon.Daemon.Config;

namespace EventDaemon.Cli.Graph;

/// <summary><c>eventd graph --format text</c>: rings, the thread groups that read each, and their stages.</summary>
internal static class GraphText
{
    public static string Write(TopologyGraph graph)
    {
        var text = new StringBuilder();
        text.Append("sources (one thread each, writing ring ").Append(TopologyGraph.MainRing).Append("):\n");
        foreach (GraphSource source in graph.Sources)
        {
            text.Append("  ").Append(source.Name).Append(" (").Append(source.Type).Append(")\n");
        }

        foreach (string ring in graph.Rings)
        {
            text.Append("ring ").Append(ring).Append(ring == TopologyGraph.MainRing
                ? $" ({graph.RingSize} slots):\n"
                : $" (results of aggregate {ring}):\n");
            foreach (ThreadGroup group in graph.Groups.Where(g => g.Ring == ring))
            {
                text.Append("  thread group ").Append(group.Id).Append(" (").Append(TopologyGraph.Describe(group))
                    .Append(group.Members.Count > 1 ? ", fused" : "").Append("):\n");
                foreach (string member in group.Members)
                {
                    GraphStage stage = graph.Stages.First(s => s.Name == member);
                    text.Append("    ").Append(stage.Fused ? "+ " : "").Append(stage.Name).Append(" (").Append(stage.Type)
                        .Append(stage.Kind == ComponentKind.Sink ? " sink" : "").Append(") <- ")
                        .Append(string.Join(", ", stage.Inputs.Select(i => i.ToString()))).Append('\n');
                }
            }
        }

        return text.ToString();
    }
}
