using EventDaemon.Events;
using EventDaemon.Ring;
using EventDaemon.Ring.Waiting;

namespace EventDaemon.Daemon.Runtime;

/// <summary>CPUs handed out round-robin, one per new consumer thread (fused stages take none).</summary>
internal sealed class Pins(int[] cpus)
{
    private int _next;

    public int[]? Next() => cpus.Length == 0 ? null : [cpus[_next++ % cpus.Length]];
}

/// <summary>
/// Puts the handlers of one stage into its ring's graph as its plan says: on a thread of its own
/// (one per partition when split), or on the threads of the stage before it (fused, partition by
/// partition), and maps the stage's name (and a fused stage's members) to the resulting stages.
/// </summary>
internal sealed class Placement<TWait>(RingContext<TWait> ctx, StagePlan plan, Stage[] after, Pins pins)
    where TWait : struct, IWaitStrategy
{
    public void Place<THandler>(Func<int, THandler> create, TimeSpan? idle)
        where THandler : struct, IEventHandler<EventSlot>
    {
        int n = plan.Threads;
        if (!plan.Fused)
        {
            var stages = new Stage[n];
            for (int i = 0; i < n; i++)
            {
                string name = n == 1 ? plan.Name : $"{plan.Name}#{i}";
                stages[i] = ctx.Graph.Add(name, create(i), after, pins.Next(), idle, member: plan.Name);
            }

            ctx.Stages[plan.Name] = stages;
            return;
        }

        // The stage before it has the same threads (the plan made them so): one fused stage each.
        if (after.Length != n)
        {
            throw new InvalidOperationException($"'{plan.Name}' is planned onto {n} threads but its input runs on {after.Length}");
        }

        var fused = new Stage[n];
        for (int i = 0; i < n; i++)
        {
            string? name = n == 1 ? null : string.Join('+', [.. after[i].Members, plan.Name]) + $"#{i}";
            fused[i] = ctx.Graph.Fuse(after[i], plan.Name, create(i), idle, name);
        }

        foreach (string member in fused[0].Members)
        {
            ctx.Stages[member] = fused;
        }
    }
}
