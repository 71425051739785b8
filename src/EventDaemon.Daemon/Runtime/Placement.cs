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
/// A stage that feeds taps (its own outputs', or, as the first stage of its ring, the ring's
/// ingress: see <see cref="RingIngressTaps"/>) is placed inside its <see cref="TapHandler{THandler}"/>.
/// </summary>
internal sealed class Placement<TWait>(RingContext<TWait> ctx, StagePlan plan, Stage[] after, Pins pins, TapPoints? taps = null)
    where TWait : struct, IWaitStrategy
{
    /// <summary>The taps of the events leaving the stage, fed by its threads; null when it feeds none itself.</summary>
    public StageOutputTaps? Outputs { get; set; }

    public void Place<THandler>(Func<int, THandler> create, TimeSpan? idle)
        where THandler : struct, IEventHandler<EventSlot>
    {
        // No stage of its ring before it: every slot reaches it as soon as it is published.
        RingIngressTaps? ingress = after.Length == 0 ? taps?.TakeIngress(ctx.Name) : null;
        StageOutputTaps? outputs = Outputs;
        if (ingress is null && outputs is null)
        {
            PlaceHandlers(create, idle);
            return;
        }

        PlaceHandlers(i => new TapHandler<THandler>(create(i), i == 0 ? ingress : null, outputs, i), idle);
    }

    private void PlaceHandlers<THandler>(Func<int, THandler> create, TimeSpan? idle)
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
