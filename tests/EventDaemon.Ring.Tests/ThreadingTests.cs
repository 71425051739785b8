using EventDaemon.Ring.Memory;
using EventDaemon.Ring.Threading;
using EventDaemon.Ring.Waiting;
using Xunit;

namespace EventDaemon.Ring.Tests;

public sealed class ThreadingTests
{
    private struct Nothing : IEventHandler<TestSlot>
    {
        public void OnStart()
        {
        }

        public void OnEvent(ref TestSlot slot, long sequence, bool endOfBatch)
        {
        }

        public void OnTimeout(long sequence)
        {
        }

        public void OnShutdown()
        {
        }
    }

    private struct FailsOnOddValues : IEventHandler<TestSlot>
    {
        public long Handled;

        public void OnStart()
        {
        }

        public void OnEvent(ref TestSlot slot, long sequence, bool endOfBatch)
        {
            if (slot.Value % 2 == 1)
            {
                throw new InvalidOperationException($"odd value {slot.Value}");
            }

            Handled++;
        }

        public void OnTimeout(long sequence)
        {
        }

        public void OnShutdown()
        {
        }
    }

    [Fact]
    public void APinnedConsumer_ReadsBackTheRequestedAffinity()
    {
        int cpu = Environment.ProcessorCount - 1;
        using var ring = new RingBuffer<TestSlot>(16);
        var sequencer = EventGraph<TestSlot, BlockingWait>.CreateSequencer(16, multiProducer: false);
        using var graph = new EventGraph<TestSlot, BlockingWait>(ring, sequencer);
        Stage stage = graph.Add("pinned", new Nothing(), cpus: [cpu]);
        graph.Start();

        Assert.True(stage.Thread.PinningWarning is null, $"pinning failed: {stage.Thread.PinningWarning}");
        int[] mask = stage.Thread.CurrentAffinity();
        Assert.True(mask.SequenceEqual([cpu]), $"affinity reads back as [{string.Join(',', mask)}], expected [{cpu}]");
        Assert.True(graph.Halt(TimeSpan.FromSeconds(10)), "the consumer did not stop");
    }

    [Fact]
    public void PinningToACpuThatDoesNotExist_IsReportedNotFatal()
    {
        string? warning = null;
        var thread = new ConsumerThread("bad-cpu", () => { }, [1023]);
        thread.Start();
        thread.Join(TimeSpan.FromSeconds(5));
        warning = thread.PinningWarning;
        Assert.True(warning is not null && warning.Contains("1023"), $"expected a warning naming CPU 1023, got '{warning}'");
    }

    [Fact]
    public void AHandlerException_IsCountedAndTheStageKeepsGoing()
    {
        using var ring = new RingBuffer<TestSlot>(64);
        var sequencer = EventGraph<TestSlot, AdaptiveWait>.CreateSequencer(64, multiProducer: false);
        using var graph = new EventGraph<TestSlot, AdaptiveWait>(ring, sequencer);
        Stage stage = graph.Add("flaky", new FailsOnOddValues());
        graph.Start();

        for (long i = 0; i < 1000; i++)
        {
            long s = sequencer.Next();
            ring[s].Value = i;
            sequencer.Publish(s);
        }

        Assert.True(graph.Halt(TimeSpan.FromSeconds(10)), "the stage died or did not stop");
        var processor = (BatchEventProcessor<TestSlot, FailsOnOddValues, AdaptiveWait>)stage.Processor;
        Assert.True(processor.FailureCount == 500, $"{processor.FailureCount} failures counted, expected 500");
        Assert.True(processor.Handler.Handled == 500, $"{processor.Handler.Handled} events handled, expected the 500 even ones");
        Assert.True(processor.LastFailure is InvalidOperationException, "the last failure was not kept for reporting");
        Assert.True(stage.Position == 999, $"the stage stopped at {stage.Position}, not at the end");
    }

    [Fact]
    public void StageProgress_IsReadableFromAnotherThread()
    {
        using var ring = new RingBuffer<TestSlot>(64);
        var sequencer = EventGraph<TestSlot, AdaptiveWait>.CreateSequencer(64, multiProducer: false);
        using var graph = new EventGraph<TestSlot, AdaptiveWait>(ring, sequencer);
        Stage stage = graph.Add("progress", new Nothing());
        graph.Start();
        for (int i = 0; i < 10; i++)
        {
            sequencer.Publish(sequencer.Next());
        }

        Assert.True(Wait.Until(() => stage.Position == 9 && stage.Lag == 0, TimeSpan.FromSeconds(10)),
            $"position {stage.Position}, lag {stage.Lag}: expected 9 and 0");
        Assert.True(graph.Halt(TimeSpan.FromSeconds(10)), "the consumer did not stop");
    }
}
