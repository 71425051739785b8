using System.Diagnostics;
using EventDaemon.Daemon.Sinks.Transports;
using Xunit;

namespace EventDaemon.Daemon.Tests.Sinks;

public sealed class FileTransportContractTests : SinkTransportContractTests<FileTransport>
{
    private readonly TempDirectory _directory = new();

    protected override FileTransport Create() => new(_directory.File("out.jsonl"));

    protected override void AssertDelivered(FileTransport transport, byte[] expected)
    {
        byte[] actual = File.ReadAllBytes(transport.Path);
        Assert.True(expected.AsSpan().SequenceEqual(actual), $"the file does not hold exactly the batches written: {Batches.FirstDifference(expected, actual)}");
        Assert.True(transport.Length == expected.Length, $"Length says {transport.Length}, the file holds {actual.Length}");
    }

    public override void Dispose()
    {
        _directory.Dispose();
        base.Dispose();
    }
}

public sealed class FileTransportTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Open_CreatesMissingDirectories_AndTheFileWithMode0640()
    {
        string path = Path.Combine(_directory.Path, "a", "b", "out.jsonl");
        var transport = new FileTransport(path);
        transport.Open();
        Assert.True(File.Exists(path), "Open did not create the file and its parent directories");
        UnixFileMode mode = File.GetUnixFileMode(path);
        UnixFileMode allowed = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        Assert.True((mode & ~allowed) == 0 && mode.HasFlag(UnixFileMode.UserRead | UnixFileMode.UserWrite),
            $"the file was created with mode {mode}; expected rw-r----- (less only what the umask removes from group)");
        Assert.Equal($"file {path} (fsync never)", transport.Describe());
        transport.Close();
    }

    [Fact]
    public void Open_ExistingFile_AppendsAfterItsContent()
    {
        string path = _directory.File("out.jsonl");
        File.WriteAllText(path, "{\"old\":1}\n");
        var transport = new FileTransport(path);
        transport.Open();
        Assert.True(transport.Length == 10, $"Length after opening a 10-byte file is {transport.Length}");
        Assert.True(transport.TryWrite("{\"new\":2}\n"u8, out string? error), $"append failed: {error}");
        transport.Close();
        Assert.Equal("{\"old\":1}\n{\"new\":2}\n", File.ReadAllText(path));
    }

    [Fact]
    public void Open_PathUnderARegularFile_ThrowsNamingThePath()
    {
        string blocker = _directory.File("not-a-directory");
        File.WriteAllText(blocker, "x");
        string path = Path.Combine(blocker, "out.jsonl");
        var transport = new FileTransport(path);
        IOException e = Assert.Throws<IOException>(transport.Open);
        Assert.True(e.Message.Contains(path, StringComparison.Ordinal) || e.Message.Contains(blocker, StringComparison.Ordinal),
            $"the message does not name the path: {e.Message}");
        Assert.True(e.Message.StartsWith("file sink: cannot", StringComparison.Ordinal), $"the message does not say what failed: {e.Message}");
    }

    [Fact]
    public void Open_PathIsADirectory_ThrowsWithTheSystemsReason()
    {
        string path = _directory.File("dir");
        Directory.CreateDirectory(path);
        var transport = new FileTransport(path);
        IOException e = Assert.Throws<IOException>(transport.Open);
        Assert.True(e.Message.Contains($"cannot open '{path}'", StringComparison.Ordinal) && e.Message.Contains("directory", StringComparison.OrdinalIgnoreCase),
            $"the message should name the path and say it is a directory: {e.Message}");
    }

    [Fact]
    public void TryWrite_DeviceFull_ReturnsFalseWithTheReason_AndDoesNotThrow()
    {
        // /dev/full accepts open and refuses every write with ENOSPC.
        var transport = new FileTransport("/dev/full");
        transport.Open();
        bool written = transport.TryWrite(Batches.Make(1, 100), out string? error);
        Assert.False(written, "a write to /dev/full succeeded");
        Assert.True(error is not null && error.Contains("/dev/full", StringComparison.Ordinal) && error.Contains("No space left", StringComparison.Ordinal),
            $"the reason does not name the file and ENOSPC: {error}");
        Assert.Equal(error, transport.LastError);
        transport.Close();
    }

    [Fact]
    public void Rotation_AtTheExactBoundary_FillsEachFileToTheLimit_AndKeepsEveryByteInOrder()
    {
        string path = _directory.File("out.jsonl");
        var transport = new FileTransport(path, rotateBytes: 1000, keepFiles: 5);
        transport.Open();
        var batches = Enumerable.Range(0, 35).Select(i => Batches.Make(i, 100)).ToList();
        foreach (byte[] batch in batches)
        {
            Assert.True(transport.TryWrite(batch, out string? error), $"write failed: {error}");
        }

        transport.Close();

        // 35 batches of 100 bytes at 1000 per file: .3 .2 .1 full (10 each, exactly at the limit), live file 5.
        Assert.True(transport.Rotations == 3, $"expected 3 rotations, saw {transport.Rotations}");
        Assert.False(File.Exists(path + ".4"), "a fourth rotated file exists");
        long[] sizes = [new FileInfo(path + ".3").Length, new FileInfo(path + ".2").Length, new FileInfo(path + ".1").Length, new FileInfo(path).Length];
        Assert.True(sizes.SequenceEqual([1000L, 1000, 1000, 500]), $"file sizes oldest first: {string.Join(", ", sizes)}; expected 1000, 1000, 1000, 500");
        AssertFilesHold(path, 3, Batches.Concat(batches));
    }

    [Fact]
    public void Rotation_WithMixedBatchSizes_NeverSplitsABatch_AndNeverExceedsTheLimit()
    {
        string path = _directory.File("out.jsonl");
        const long Limit = 10_000;
        var transport = new FileTransport(path, rotateBytes: Limit, keepFiles: 100);
        transport.Open();
        var random = new Random(12345);
        var batches = new List<byte[]>();
        for (int i = 0; i < 200; i++)
        {
            byte[] batch = Batches.Make(i, random.Next(1, 3000));
            Assert.True(transport.TryWrite(batch, out string? error), $"write failed: {error}");
            batches.Add(batch);
        }

        transport.Close();
        int rotated = (int)transport.Rotations;
        Assert.True(rotated > 10, $"only {rotated} rotations for ~300 KB at a 10 KB limit");
        for (int i = rotated; i >= 0; i--)
        {
            string file = i == 0 ? path : $"{path}.{i}";
            long size = new FileInfo(file).Length;
            Assert.True(size <= Limit, $"{file} holds {size} bytes, over the {Limit}-byte limit");
            Assert.True(File.ReadAllBytes(file)[^1] == (byte)'\n', $"{file} does not end at a line boundary");
        }

        AssertFilesHold(path, rotated, Batches.Concat(batches));
    }

    [Fact]
    public void Rotation_BatchLargerThanTheLimit_GetsAFileOfItsOwn()
    {
        string path = _directory.File("out.jsonl");
        var transport = new FileTransport(path, rotateBytes: 100);
        transport.Open();
        byte[] small = Batches.Make(1, 60);
        byte[] large = Batches.Make(2, 500);
        byte[] after = Batches.Make(3, 60);
        foreach (byte[] batch in new[] { small, large, after })
        {
            Assert.True(transport.TryWrite(batch, out string? error), $"write failed: {error}");
        }

        transport.Close();
        Assert.True(File.ReadAllBytes(path + ".2").AsSpan().SequenceEqual(small), "the first file should hold only the small batch");
        Assert.True(File.ReadAllBytes(path + ".1").AsSpan().SequenceEqual(large), "the oversized batch should have a file of its own");
        Assert.True(File.ReadAllBytes(path).AsSpan().SequenceEqual(after), "the live file should hold the batch after it");
    }

    [Fact]
    public void Rotation_BeyondKeepFiles_DropsTheOldest()
    {
        string path = _directory.File("out.jsonl");
        var transport = new FileTransport(path, rotateBytes: 100, keepFiles: 2);
        transport.Open();
        var batches = Enumerable.Range(0, 6).Select(i => Batches.Make(i, 100)).ToList();
        foreach (byte[] batch in batches)
        {
            Assert.True(transport.TryWrite(batch, out string? error), $"write failed: {error}");
        }

        transport.Close();
        Assert.False(File.Exists(path + ".3"), "more rotated files than keepFiles were kept");
        AssertFilesHold(path, 2, Batches.Concat(batches.Skip(3)));
    }

    [Fact]
    public void FsyncAlways_SyncsEveryBatch_AndLosesNothing()
    {
        string path = _directory.File("out.jsonl");
        var transport = new FileTransport(path, fsync: FsyncMode.Always);
        transport.Open();
        var batches = Enumerable.Range(0, 25).Select(i => Batches.Make(i, 700)).ToList();
        foreach (byte[] batch in batches)
        {
            Assert.True(transport.TryWrite(batch, out string? error), $"write failed: {error}");
        }

        Assert.True(transport.Syncs == 25, $"fsync = always synced {transport.Syncs} times for 25 batches");
        transport.Close();
        byte[] expected = Batches.Concat(batches);
        byte[] actual = File.ReadAllBytes(path);
        Assert.True(expected.AsSpan().SequenceEqual(actual), $"read back differs: {Batches.FirstDifference(expected, actual)}");
    }

    [Fact]
    public void FsyncInterval_SyncsOnTheFirstTickPastTheInterval_OnlyAfterWrites()
    {
        string path = _directory.File("out.jsonl");
        var interval = TimeSpan.FromSeconds(1);
        long ticks = Stopwatch.Frequency;
        var transport = new FileTransport(path, fsync: FsyncMode.Interval, fsyncInterval: interval);
        transport.Open();
        long start = Stopwatch.GetTimestamp();

        transport.Tick(start + (2 * ticks));
        Assert.True(transport.Syncs == 0, "an interval tick synced although nothing was written");

        byte[] first = Batches.Make(1, 300);
        Assert.True(transport.TryWrite(first, out string? error), $"write failed: {error}");
        Assert.True(transport.Syncs == 0, "fsync = interval synced inside TryWrite");
        transport.Tick(start + (3 * ticks));
        Assert.True(transport.Syncs == 1, $"the first tick past the interval after a write should sync; syncs = {transport.Syncs}");

        byte[] second = Batches.Make(2, 300);
        Assert.True(transport.TryWrite(second, out error), $"write failed: {error}");
        transport.Tick(start + (3 * ticks) + (ticks / 2));
        Assert.True(transport.Syncs == 1, "a tick before the interval elapsed synced");
        transport.Tick(start + (4 * ticks));
        Assert.True(transport.Syncs == 2, $"the tick at the interval should sync; syncs = {transport.Syncs}");
        transport.Tick(start + (9 * ticks));
        Assert.True(transport.Syncs == 2, "a tick with nothing new written synced");

        byte[] third = Batches.Make(3, 300);
        Assert.True(transport.TryWrite(third, out error), $"write failed: {error}");
        transport.Close();
        Assert.True(transport.Syncs == 3, $"Close should sync what the ticks had not; syncs = {transport.Syncs}");
        byte[] expected = [.. first, .. second, .. third];
        byte[] actual = File.ReadAllBytes(path);
        Assert.True(expected.AsSpan().SequenceEqual(actual), $"read back differs: {Batches.FirstDifference(expected, actual)}");
    }

    [Fact]
    public void FsyncInterval_WithRotation_KeepsEveryByte()
    {
        string path = _directory.File("out.jsonl");
        var transport = new FileTransport(path, rotateBytes: 2048, fsync: FsyncMode.Interval, fsyncInterval: TimeSpan.FromMilliseconds(1));
        transport.Open();
        var batches = Enumerable.Range(0, 30).Select(i => Batches.Make(i, 300)).ToList();
        foreach (byte[] batch in batches)
        {
            Assert.True(transport.TryWrite(batch, out string? error), $"write failed: {error}");
            transport.Tick(Stopwatch.GetTimestamp());
        }

        transport.Close();
        AssertFilesHold(path, (int)transport.Rotations, Batches.Concat(batches));
    }

    [Fact]
    public void Constructor_RejectsMeaninglessSettings()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new FileTransport(_directory.File("x"), rotateBytes: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FileTransport(_directory.File("x"), fsync: FsyncMode.Interval, fsyncInterval: TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FileTransport(_directory.File("x"), keepFiles: 0));
        Assert.Throws<ArgumentException>(() => new FileTransport("a\0b"));
    }

    /// <summary>The live file and <c>path.1</c> … <c>path.{rotated}</c>, oldest first, hold exactly <paramref name="expected"/>.</summary>
    private static void AssertFilesHold(string path, int rotated, byte[] expected)
    {
        var all = new List<byte>();
        for (int i = rotated; i >= 1; i--)
        {
            all.AddRange(File.ReadAllBytes($"{path}.{i}"));
        }

        all.AddRange(File.ReadAllBytes(path));
        byte[] actual = [.. all];
        Assert.True(expected.AsSpan().SequenceEqual(actual), $"the files, oldest first, do not hold every byte in order: {Batches.FirstDifference(expected, actual)}");
    }
}
