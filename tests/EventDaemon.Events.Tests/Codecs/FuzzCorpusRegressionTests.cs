using EventDaemon.Events.Fuzz.Targets;
using Xunit;

namespace EventDaemon.Events.Tests.Codecs;

/// <summary>Every fuzz seed and every input that once crashed a decoder passes the fuzz targets' invariant checks.</summary>
public class FuzzCorpusRegressionTests
{
    public static TheoryData<string, string> Corpus()
    {
        var data = new TheoryData<string, string>();
        string root = FuzzDirectory();
        foreach (string target in FuzzTargets.Names)
        {
            foreach (string kind in new[] { "seeds", "regressions" })
            {
                string dir = Path.Combine(root, kind, target);
                foreach (string file in Directory.EnumerateFiles(dir).Where(f => !f.EndsWith(".keep", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
                {
                    data.Add(target, Path.GetRelativePath(root, file));
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public void FuzzInput_SatisfiesTheDecoderInvariants(string target, string file)
    {
        Assert.True(FuzzTargets.TryGet(target, out Action<byte[]> run), $"unknown fuzz target {target}");
        byte[] input = File.ReadAllBytes(Path.Combine(FuzzDirectory(), file));
        Exception? failure = Record.Exception(() => run(input));
        Assert.True(failure is null, $"{file} broke the {target} invariants: {failure?.GetType().Name}: {failure?.Message}");
    }

    [Fact]
    public void Corpus_HasSeedsForEveryTarget()
    {
        foreach (string target in FuzzTargets.Names)
        {
            string dir = Path.Combine(FuzzDirectory(), "seeds", target);
            Assert.True(Directory.Exists(dir) && Directory.EnumerateFiles(dir).Any(), $"fuzz target {target} has no seed corpus in {dir}");
        }
    }

    private static string FuzzDirectory()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "EventDaemon.Events.Fuzz");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("tests/EventDaemon.Events.Fuzz not found above " + AppContext.BaseDirectory);
    }
}
