using System.Diagnostics;
using System.Security.Cryptography;
using EventDaemon.Events.Fuzz.Targets;
using SharpFuzz;

namespace EventDaemon.Events.Fuzz;

/// <summary>
/// Fuzz driver for the decoders.
///   afl TARGET                         run under afl-fuzz (EventDaemon.Events.dll instrumented by sharpfuzz)
///   mutate TARGET SECONDS SEEDS CRASHES coverage-less mutation fuzzing of the seed corpus for SECONDS
///   replay TARGET PATH...              run every file under PATH once; exit 1 on the first failure
/// TARGET is one of json, lines, binary, rfc3339.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length < 2 || !FuzzTargets.TryGet(args[1], out Action<byte[]> target))
        {
            Console.Error.WriteLine($"usage: afl|mutate|replay TARGET ... (targets: {string.Join(", ", FuzzTargets.Names)})");
            return 2;
        }

        switch (args[0])
        {
            case "afl":
                Fuzzer.OutOfProcess.Run(stream =>
                {
                    using var copy = new MemoryStream();
                    stream.CopyTo(copy);
                    target(copy.ToArray());
                });
                return 0;
            case "mutate" when args.Length >= 5:
                return Mutate(args[1], target, TimeSpan.FromSeconds(double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture)), args[3], args[4]);
            case "replay" when args.Length >= 3:
                return Replay(target, args[2..]);
            default:
                Console.Error.WriteLine("usage: afl TARGET | mutate TARGET SECONDS SEEDS CRASHES | replay TARGET PATH...");
                return 2;
        }
    }

    private static int Replay(Action<byte[]> target, string[] paths)
    {
        int count = 0;
        foreach (string file in paths.SelectMany(Files))
        {
            try
            {
                target(File.ReadAllBytes(file));
                count++;
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"FAIL {file}: {e.GetType().Name}: {e.Message}");
                return 1;
            }
        }

        Console.WriteLine($"replayed {count} inputs: ok");
        return 0;
    }

    private static int Mutate(string name, Action<byte[]> target, TimeSpan duration, string seedDir, string crashDir)
    {
        List<byte[]> seeds = [.. Files(seedDir).Select(File.ReadAllBytes)];
        if (seeds.Count == 0)
        {
            seeds.Add([]);
        }

        var mutator = new Mutator(new Random(Environment.TickCount), seeds);
        var seen = new HashSet<string>();
        long runs = 0;
        int crashes = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            for (int batch = 0; batch < 256; batch++)
            {
                byte[] input = mutator.Next();
                runs++;
                try
                {
                    target(input);
                    mutator.Keep(input);
                }
                catch (Exception e)
                {
                    string signature = e.GetType().Name + ":" + e.Message + ":" + e.StackTrace?.Split('\n').FirstOrDefault();
                    if (seen.Add(signature))
                    {
                        crashes++;
                        Directory.CreateDirectory(crashDir);
                        string file = Path.Combine(crashDir, $"{name}-{Convert.ToHexString(SHA256.HashData(input))[..16].ToLowerInvariant()}.bin");
                        File.WriteAllBytes(file, input);
                        Console.Error.WriteLine($"CRASH {file}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
                    }
                }
            }
        }

        Console.WriteLine($"{name}: {runs:N0} inputs in {clock.Elapsed.TotalSeconds:0}s ({runs / clock.Elapsed.TotalSeconds:N0}/s), {crashes} distinct crashes");
        return crashes == 0 ? 0 : 1;
    }

    private static IEnumerable<string> Files(string path) =>
        Directory.Exists(path) ? Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
        : File.Exists(path) ? [path] : [];
}
