using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Journal;
using EventDaemon.Daemon.Tests.Config;
using EventDaemon.Daemon.Tests.Sinks;
using Xunit;

namespace EventDaemon.Daemon.Tests.Journal;

/// <summary>The <c>[journal]</c> table of SPEC §7: defaults, values, mistakes, and the machine checks validate shares with run.</summary>
public sealed class JournalConfigTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string Daemon => $"[daemon]\nstate_dir = \"{_directory.Path}\"\n\n";

    [Fact]
    public void NoJournalTable_MeansNoJournal()
    {
        EventdConfig config = ConfigTesting.Valid(ConfigTesting.Pipeline);
        Assert.True(config.Journal is null, $"a config without [journal] should run without one, got {config.Journal}");
        Assert.True(EmbeddedConfig.Load(null).Config?.Journal is null, "the embedded default should run without a journal");
    }

    [Fact]
    public void EmptyJournalTable_TakesTheSpecDefaults_UnderStateDir()
    {
        EventdConfig config = ConfigTesting.Valid(Daemon + "[journal]\n\n" + ConfigTesting.Pipeline);
        JournalSettings journal = config.Journal ?? throw new InvalidOperationException("[journal] should turn the journal on");
        ConfigTesting.Equal(Path.Combine(_directory.Path, "journal"), journal.Directory, "dir (relative to state_dir)");
        ConfigTesting.Equal(ByteSize.FromMiB(128), journal.SegmentBytes, "segment_bytes");
        ConfigTesting.Equal(new ByteSize(8 * ByteSize.GiB), journal.RetentionBytes, "retention_bytes");
        ConfigTesting.Equal(JournalFsync.Batch, journal.Fsync, "fsync");
        ConfigTesting.Equal(JournalWhenFull.Block, journal.WhenFull, "when_full");
    }

    [Fact]
    public void EveryKey_IsRead()
    {
        EventdConfig config = ConfigTesting.Valid(Daemon + """
            [journal]
            dir = "j/one"
            segment_bytes = "4MiB"
            retention_bytes = "1GiB"
            fsync = "never"
            when_full = "drop_oldest"

            """ + ConfigTesting.Pipeline);
        JournalSettings journal = config.Journal!;
        ConfigTesting.Equal(Path.Combine(_directory.Path, "j", "one"), journal.Directory, "dir");
        ConfigTesting.Equal(ByteSize.FromMiB(4), journal.SegmentBytes, "segment_bytes");
        ConfigTesting.Equal(new ByteSize(ByteSize.GiB), journal.RetentionBytes, "retention_bytes");
        ConfigTesting.Equal(JournalFsync.Never, journal.Fsync, "fsync");
        ConfigTesting.Equal(JournalWhenFull.DropOldest, journal.WhenFull, "when_full");
    }

    [Fact]
    public void RenderedConfig_LoadsBackEqual_JournalIncluded()
    {
        EventdConfig config = ConfigTesting.Valid(Daemon + "[journal]\nfsync = \"never\"\nsegment_bytes = \"8MiB\"\n\n" + ConfigTesting.Pipeline);
        EventdConfig again = ConfigTesting.Valid(config.ToString());
        Assert.True(config.Equals(again), $"the rendered config should load back equal:\n{config}");
        Assert.True(!config.Equals(ConfigTesting.Valid(Daemon + ConfigTesting.Pipeline)), "a config with a journal should differ from one without");
    }

    [Fact]
    public void MisspelledKeyAndValues_AreReportedWithSuggestions()
    {
        ConfigTesting.Rejects(
            "[journal]\nsegment_byte = \"4MiB\"\nfsync = \"batc\"\nwhen_full = \"drop\"\n\n" + ConfigTesting.Pipeline,
            "test.toml:2:1: unknown key 'segment_byte' in [journal] (did you mean 'segment_bytes'?)",
            "test.toml:3:9: fsync: unknown value 'batc' (did you mean 'batch'?); expected one of batch, never",
            "test.toml:4:13: when_full: unknown value 'drop'; expected one of block, drop_oldest");
    }

    [Fact]
    public void MisspelledTable_SuggestsJournal()
    {
        ConfigTesting.Rejects(
            "[jornal]\nfsync = \"batch\"\n\n" + ConfigTesting.Pipeline,
            "test.toml:1:2: unknown table [jornal] (did you mean [journal]?); a config has [daemon], [journal], [sources.NAME], [transforms.NAME] and [sinks.NAME]");
    }

    [Fact]
    public void SegmentTooSmallForTwoWritesOfTheLargestEvent_IsRefused()
    {
        ConfigResult result = ConfigTesting.Parse("[journal]\nsegment_bytes = \"1MiB\"\n\n" + ConfigTesting.Pipeline);
        Assert.False(result.Succeeded, "a 1 MiB segment cannot hold two 1 MiB group writes and should be refused");
        string line = ConfigTesting.Lines(result).Single();
        Assert.True(line.StartsWith("test.toml:2:17: segment_bytes must be at least", StringComparison.Ordinal), $"unexpected message: {line}");
    }

    [Fact]
    public void JournalDirUnderAFile_IsRefusedByTheMachineCheck()
    {
        File.WriteAllText(_directory.File("state"), "not a directory");
        string path = _directory.File("eventd.toml");
        File.WriteAllText(path, $"[daemon]\nstate_dir = \"{_directory.Path}\"\n\n[journal]\ndir = \"state/journal\"\n\n" + ConfigTesting.Pipeline);
        ConfigResult result = ConfigLoader.Load(path);
        Assert.False(result.Succeeded, "a journal under a file cannot be created and should be refused by validate as by run");
        string line = ConfigTesting.Lines(result).Single();
        Assert.True(line.Contains("dir: \"" + _directory.File("state") + "\" is a file", StringComparison.Ordinal), $"unexpected message: {line}");
    }
}
