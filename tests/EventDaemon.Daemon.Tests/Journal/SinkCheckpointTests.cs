using EventDaemon.Daemon.Journal;
using EventDaemon.Daemon.Tests.Sinks;
using Xunit;

namespace EventDaemon.Daemon.Tests.Journal;

public sealed class SinkCheckpointTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string FilePath => _directory.File("out.checkpoint");

    [Fact]
    public void Open_NewFile_HasNoCheckpoint()
    {
        using SinkCheckpoint checkpoint = SinkCheckpoint.Open(FilePath);
        Assert.True(checkpoint.Last is null, $"a new file holds no checkpoint, read {checkpoint.Last}");
    }

    [Fact]
    public void Write_ManyTimes_ReopenReadsTheLast()
    {
        using (SinkCheckpoint checkpoint = SinkCheckpoint.Open(FilePath))
        {
            for (long s = 1; s <= 101; s++)
            {
                Assert.True(checkpoint.Write(new Checkpoint(s * 10, s * 1000)) == 0, $"checkpoint {s} could not be written");
            }
        }

        using SinkCheckpoint reopened = SinkCheckpoint.Open(FilePath);
        Assert.True(reopened.Last == new Checkpoint(1010, 101_000), $"reopening should read the last checkpoint, read {reopened.Last}");
        Assert.True(new FileInfo(FilePath).Length == 128, "two slots of 64 bytes, whatever the number of writes");
    }

    [Fact]
    public void AnAggregatesCheckpoint_KeepsItsThirdField_TheWatermark_AcrossAReopen()
    {
        using (SinkCheckpoint checkpoint = SinkCheckpoint.Open(FilePath))
        {
            Assert.True(checkpoint.Write(new Checkpoint(1234, long.MinValue, -5)) == 0, "the first checkpoint could not be written");
            Assert.True(checkpoint.Write(new Checkpoint(5678, 1_764_151_200_000_000_000, 1_764_151_201_500_000_000)) == 0, "the second checkpoint could not be written");
        }

        var expected = new Checkpoint(5678, 1_764_151_200_000_000_000, 1_764_151_201_500_000_000);
        using SinkCheckpoint reopened = SinkCheckpoint.Open(FilePath);
        Assert.True(reopened.Last == expected && SinkCheckpoint.Read(FilePath) == expected, $"reopening should read all three fields back: {reopened.Last}, {SinkCheckpoint.Read(FilePath)}");
    }

    [Fact]
    public void TornLatestSlot_FallsBackToThePreviousCheckpoint()
    {
        using (SinkCheckpoint checkpoint = SinkCheckpoint.Open(FilePath))
        {
            checkpoint.Write(new Checkpoint(100, 5_000));
            checkpoint.Write(new Checkpoint(200, 9_000));
        }

        // Generation 2 lives in slot 0: a crash mid-write leaves part of it.
        using (var file = new FileStream(FilePath, FileMode.Open, FileAccess.Write))
        {
            file.Position = 20;
            file.Write(new byte[] { 0xFF, 0xFF, 0xFF });
        }

        Assert.True(SinkCheckpoint.Read(FilePath) == new Checkpoint(100, 5_000), $"the intact older slot should be read, read {SinkCheckpoint.Read(FilePath)}");
        using SinkCheckpoint reopened = SinkCheckpoint.Open(FilePath);
        Assert.True(reopened.Last == new Checkpoint(100, 5_000), $"Open should agree with Read: {reopened.Last}");
        reopened.Write(new Checkpoint(300, 12_000));
        Assert.True(SinkCheckpoint.Read(FilePath) == new Checkpoint(300, 12_000), "the next write goes into the torn slot and is read back");
    }
}
