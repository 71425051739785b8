using System.Globalization;
using System.Runtime.CompilerServices;
using EventDaemon.Perf.Journal.Format;
using EventDaemon.Perf.Journal.Internal;
using EventDaemon.Perf.Journal.Methods;
using EventDaemon.Perf.Journal.Reporting;
using EventDaemon.Perf.Journal.Running;

namespace EventDaemon.Perf.Journal;

/// <summary>
/// The journal's write path (SPEC §7), measured to choose between <c>pwrite</c>, <c>pwritev</c>
/// and writes through a shared mapping, with a growing file beside them to show why segments are
/// zeroed ahead. A writer thread copies 107-byte JSON events into 152-byte records (header, CRC32C,
/// padding) and writes them in groups into a segment on the real disk; a syncer thread runs
/// <c>fdatasync</c> (or <c>msync</c>) back to back. Per method: records/s flat out with group
/// commit, with no sync and with the writer syncing itself every 1,024 records; time to durable at
/// 100k records/s beside a bare 4 KiB <c>fdatasync</c> measured in the same run. A writer thread
/// that allocates fails the run.
/// </summary>
/// <remarks>
/// <code>
/// DIR OUT.json OUT.md [--quick | --smoke] [--rounds N] [--methods a,b]
/// </code>
/// DIR must be on the disk the journal will use (not tmpfs); scripts/bench-journal.sh checks it.
/// </remarks>
public static class Program
{
    private static readonly string[] AllMethods =
        [PwriteMethod.Name, PwritevMethod.Name, PwritevGatherMethod.Name, MmapDataSyncMethod.Name, MmapMsyncMethod.Name, GrowingPwriteMethod.Name];

    public static int Main(string[] args)
    {
        if (args.Length < 3)
        {
            Console.Error.WriteLine("usage: DIR OUT.json OUT.md [--quick | --smoke] [--rounds N] [--methods " + string.Join(',', AllMethods) + "]");
            return 2;
        }

        if (!Clock.IsNanoseconds)
        {
            Console.Error.WriteLine("Stopwatch does not count nanoseconds on this platform");
            return 2;
        }

        if (!LayoutIsAsWritten(out string? layout))
        {
            Console.Error.WriteLine(layout);
            return 2;
        }

        string directory = args[0];
        RunSettings settings = args.Contains("--smoke") ? RunSettings.Smoke(directory)
            : args.Contains("--quick") ? RunSettings.Quick(directory)
            : RunSettings.Full(directory);
        int roundsAt = Array.IndexOf(args, "--rounds");
        if (roundsAt > 0 && roundsAt + 1 < args.Length)
        {
            settings = settings with { Rounds = int.Parse(args[roundsAt + 1], CultureInfo.InvariantCulture) };
        }

        int methodsAt = Array.IndexOf(args, "--methods");
        string[] methods = methodsAt > 0 && methodsAt + 1 < args.Length ? args[methodsAt + 1].Split(',') : AllMethods;
        string? unknown = methods.FirstOrDefault(m => !AllMethods.Contains(m));
        if (unknown is not null)
        {
            Console.Error.WriteLine($"unknown method '{unknown}'; methods: {string.Join(',', AllMethods)}");
            return 2;
        }

        Directory.CreateDirectory(directory);
        var corpus = new EventCorpus();
        var results = methods.Select(name => name switch
        {
            _ when name == PwriteMethod.Name => new MethodResult(name, PwriteMethod.Description, PwriteMethod.PreZeroed),
            _ when name == PwritevMethod.Name => new MethodResult(name, PwritevMethod.Description, PwritevMethod.PreZeroed),
            _ when name == PwritevGatherMethod.Name => new MethodResult(name, PwritevGatherMethod.Description, PwritevGatherMethod.PreZeroed),
            _ when name == MmapDataSyncMethod.Name => new MethodResult(name, MmapDataSyncMethod.Description, MmapDataSyncMethod.PreZeroed),
            _ when name == MmapMsyncMethod.Name => new MethodResult(name, MmapMsyncMethod.Description, MmapMsyncMethod.PreZeroed),
            _ => new MethodResult(name, GrowingPwriteMethod.Description, GrowingPwriteMethod.PreZeroed),
        }).ToList();

        // Rounds interleave the methods, so that a slow minute of the shared disk lands on all of them.
        for (int round = 1; round <= settings.Rounds; round++)
        {
            Console.WriteLine($"round {round} of {settings.Rounds}");
            foreach (MethodResult result in results)
            {
                switch (result.Name)
                {
                    case var n when n == PwriteMethod.Name: MethodRunner.RunRound<PwriteMethod>(settings, corpus, result); break;
                    case var n when n == PwritevMethod.Name: MethodRunner.RunRound<PwritevMethod>(settings, corpus, result); break;
                    case var n when n == PwritevGatherMethod.Name: MethodRunner.RunRound<PwritevGatherMethod>(settings, corpus, result); break;
                    case var n when n == MmapDataSyncMethod.Name: MethodRunner.RunRound<MmapDataSyncMethod>(settings, corpus, result); break;
                    case var n when n == MmapMsyncMethod.Name: MethodRunner.RunRound<MmapMsyncMethod>(settings, corpus, result); break;
                    default: MethodRunner.RunRound<GrowingPwriteMethod>(settings, corpus, result); break;
                }
            }
        }

        Report.Write(settings, results, args[1], args[2]);
        long allocated = results.Max(r => r.WriterAllocatedBytes);
        if (allocated != 0)
        {
            Console.Error.WriteLine($"FAIL: a writer thread allocated {allocated} bytes in its loop (must be 0)");
            return 1;
        }

        Console.WriteLine("writer threads allocated 0 bytes in every run");
        MethodResult? broken = results.FirstOrDefault(r => r.Problem is not null);
        if (broken is not null)
        {
            Console.Error.WriteLine($"FAIL: {broken.Name}, {broken.Problem}");
            return 1;
        }

        Console.WriteLine("every segment read back whole: each record's CRC, sequence and bytes checked");
        return 0;
    }

    /// <summary>The record and group headers are a file format: their sizes and offsets are checked
    /// before anything is written, so that a layout change fails the run instead of the reader.</summary>
    private static bool LayoutIsAsWritten(out string? problem)
    {
        RecordHeader record = default;
        GroupHeader group = default;
        PaddedLong padded = default;
        (string Name, long Actual, long Expected)[] checks =
        [
            ("RecordHeader size", Unsafe.SizeOf<RecordHeader>(), RecordHeader.Size),
            ("RecordHeader.Crc", Unsafe.ByteOffset(ref Unsafe.As<RecordHeader, byte>(ref record), ref Unsafe.As<uint, byte>(ref record.Crc)), 4),
            ("RecordHeader.Sequence", Unsafe.ByteOffset(ref Unsafe.As<RecordHeader, byte>(ref record), ref Unsafe.As<long, byte>(ref record.Sequence)), 8),
            ("RecordHeader.Source", Unsafe.ByteOffset(ref Unsafe.As<RecordHeader, byte>(ref record), ref Unsafe.As<uint, byte>(ref record.Source)), 32),
            ("GroupHeader size", Unsafe.SizeOf<GroupHeader>(), GroupHeader.Size),
            ("GroupHeader.Crc", Unsafe.ByteOffset(ref Unsafe.As<GroupHeader, byte>(ref group), ref Unsafe.As<uint, byte>(ref group.Crc)), 4),
            ("GroupHeader.WriteTimeNs", Unsafe.ByteOffset(ref Unsafe.As<GroupHeader, byte>(ref group), ref Unsafe.As<long, byte>(ref group.WriteTimeNs)), 24),
            ("PaddedLong size", Unsafe.SizeOf<PaddedLong>(), PaddedLong.Size),
            ("PaddedLong.Value", Unsafe.ByteOffset(ref Unsafe.As<PaddedLong, byte>(ref padded), ref Unsafe.As<long, byte>(ref padded.Value)), PaddedLong.ValueOffset),
            ("record bytes of a 107-byte event", EventCorpus.RecordBytes, 152),
        ];
        foreach (var (name, actual, expected) in checks)
        {
            if (actual != expected)
            {
                problem = $"layout: {name} is {actual}, the format says {expected}";
                return false;
            }
        }

        problem = null;
        return true;
    }
}
