using EventDaemon.Ring.Memory;
using EventDaemon.Ring.Sequencing;
using EventDaemon.Ring.Waiting;
using Xunit;

namespace EventDaemon.Ring.Tests;

/// <summary>Fused stages: handlers of a linear chain run in order on one thread, with the same
/// ordering guarantees a barrier between them would give.</summary>
public sealed class FusionTests
{
    internal sealed class Log
    {
        public long Violations;
        public long Seen;
        public readonly HashSet<int> Threads = [];
        public readonly List<string> Calls = [];
    }

    /// <summary>Stamps the slot with its sequence in the field <see cref="Field"/> names (0 = A, 1 = B).</summary>
    private struct Stamp : IEventHandler<TestSlot>
    {
        public int Field;
        public Log Log;
        public string Name;

        public readonly void OnStart()
        {
            lock (Log)
            {
                Log.Calls.Add($"{Name}.start");
            }
        }

        public readonly void OnEvent(ref TestSlot slot, long sequence, bool endOfBatch)
        {
            if (Field == 0)
            {
                slot.StageA = sequence;
            }
            else
            {
                // The second member must see the first member's stamp on every slot.
                if (slot.StageA != sequence)
                {
                    Log.Violations++;
                }

                slot.StageB = sequence;
            }

            lock (Log)
            {
                Log.Threads.Add(Environment.CurrentManagedThreadId);
            }
        }

        public readonly void OnTimeout(long sequence)
        {
        }

        public readonly void OnShutdown()
        {
            lock (Log)
            {
                Log.Calls.Add($"{Name}.shutdown");
            }
        }
    }

    /// <summary>After the fused stage: must see both stamps.</summary>
    private struct Check : IEventHandler<TestSlot>
    {
        public Log Log;

        public readonly void OnStart()
        {
        }

        public readonly void OnEvent(ref TestSlot slot, long sequence, bool endOfBatch)
        {
            if (slot.StageA != sequence || slot.StageB != sequence)
            {
                Log.Violations++;
            }

            Log.Seen++;
        }

        public readonly void OnTimeout(long sequence)
        {
        }

        public readonly void OnShutdown()
        {
        }
    }

    [Fact]
    public void AFusedChain_RunsEachMemberInOrderOnOneThread_AndItsDependantsSeeBoth()
    {
        const int events = 200_000;
        using var ring = new RingBuffer<TestSlot>(256);
        Sequencer sequencer = EventGraph<TestSlot, AdaptiveWait>.CreateSequencer(256, multiProducer: false);
        using var graph = new EventGraph<TestSlot, AdaptiveWait>(ring, sequencer);
        var fusedLog = new Log();
        var checkLog = new Log();
        Stage a = graph.Add("a", new Stamp { Field = 0, Log = fusedLog, Name = "a" });
        Stage ab = graph.Fuse(a, "b", new Stamp { Field = 1, Log = fusedLog, Name = "b" });
        Stage c = graph.Add("c", new Check { Log = checkLog }, after: [ab]);

        Assert.Equal("a+b", ab.Name);
        Assert.Equal(["a", "b"], ab.Members);
        Assert.Equal([ab, c], graph.Stages);
        graph.Start();
        for (long i = 0; i < events; i++)
        {
            long s = sequencer.Next();
            ring[s].StageA = -1;
            ring[s].StageB = -1;
            sequencer.Publish(s);
        }

        Assert.True(graph.Halt(TimeSpan.FromSeconds(30)), "stages did not stop after draining");
        Assert.True(fusedLog.Violations == 0, $"b saw {fusedLog.Violations} slots before a had stamped them");
        Assert.True(checkLog.Violations == 0, $"c saw {checkLog.Violations} slots before the fused stage finished them");
        Assert.True(checkLog.Seen == events, $"c saw {checkLog.Seen} of {events}");
        Assert.True(fusedLog.Threads.Count == 1, $"the fused members ran on {fusedLog.Threads.Count} threads");
        Assert.Equal(["a.start", "b.start", "a.shutdown", "b.shutdown"], fusedLog.Calls);
    }

    [Fact]
    public void AStageWithDependants_CannotTakeAnotherOnItsThread()
    {
        using var ring = new RingBuffer<TestSlot>(16);
        Sequencer sequencer = EventGraph<TestSlot, BlockingWait>.CreateSequencer(16, multiProducer: false);
        using var graph = new EventGraph<TestSlot, BlockingWait>(ring, sequencer);
        var log = new Log();
        Stage a = graph.Add("a", new Stamp { Field = 0, Log = log, Name = "a" });
        graph.Add("c", new Check { Log = log }, after: [a]);

        var e = Assert.Throws<InvalidOperationException>(() => graph.Fuse(a, "b", new Stamp { Field = 1, Log = log, Name = "b" }));
        Assert.Contains("'a' has dependants", e.Message);
    }

    [Fact]
    public void AReplacedStage_IsNoLongerPartOfTheGraph()
    {
        using var ring = new RingBuffer<TestSlot>(16);
        Sequencer sequencer = EventGraph<TestSlot, BlockingWait>.CreateSequencer(16, multiProducer: false);
        using var graph = new EventGraph<TestSlot, BlockingWait>(ring, sequencer);
        var log = new Log();
        Stage a = graph.Add("a", new Stamp { Field = 0, Log = log, Name = "a" });
        graph.Fuse(a, "b", new Stamp { Field = 1, Log = log, Name = "b" });

        Assert.Throws<ArgumentOutOfRangeException>(() => graph.Add("c", new Check { Log = log }, after: [a]));
    }

    [Fact]
    public void HandlersAreFound_WhetherTheyRunAloneOrFused()
    {
        using var ring = new RingBuffer<TestSlot>(16);
        Sequencer sequencer = EventGraph<TestSlot, BlockingWait>.CreateSequencer(16, multiProducer: false);
        using var graph = new EventGraph<TestSlot, BlockingWait>(ring, sequencer);
        var log = new Log();
        Stage alone = graph.Add("alone", new Check { Log = log });
        Stage a = graph.Add("a", new Stamp { Field = 0, Log = log, Name = "a" });
        Stage ab = graph.Fuse(a, "b", new Stamp { Field = 1, Log = log, Name = "b" });

        Assert.True(alone.TryGetHandler(out Check _));
        Assert.False(alone.TryGetHandler(out Stamp _));
        Assert.True(ab.TryGetHandler(out Stamp stamp));
        Assert.Equal("a", stamp.Name);
        Assert.False(ab.TryGetHandler(out Check _));
    }

    [Fact]
    public void AFusedStage_TicksAtTheShorterOfItsMembersTimeouts()
    {
        using var ring = new RingBuffer<TestSlot>(16);
        Sequencer sequencer = EventGraph<TestSlot, BlockingWait>.CreateSequencer(16, multiProducer: false);
        using var graph = new EventGraph<TestSlot, BlockingWait>(ring, sequencer);
        var log = new Log();
        Stage a = graph.Add("a", new Stamp { Field = 0, Log = log, Name = "a" }, idleTimeout: TimeSpan.FromSeconds(2));
        Stage ab = graph.Fuse(a, "b", new Stamp { Field = 1, Log = log, Name = "b" }, TimeSpan.FromMilliseconds(100));
        Stage x = graph.Add("x", new Check { Log = log });
        Stage xy = graph.Fuse(x, "y", new Check { Log = log }, TimeSpan.FromSeconds(1));

        Assert.Equal(TimeSpan.FromMilliseconds(100), ab.Processor.IdleTimeout);
        Assert.Equal(TimeSpan.FromSeconds(1), xy.Processor.IdleTimeout);
    }
}
