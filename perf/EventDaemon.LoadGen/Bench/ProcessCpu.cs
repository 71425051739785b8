using System.Globalization;
using EventDaemon.LoadGen.Interop;
using EventDaemon.LoadGen.Measurement;

namespace EventDaemon.LoadGen.Bench;

/// <summary>
/// CPU time a process (and each of its threads) has used, from <c>/proc/PID/stat</c> and
/// <c>/proc/PID/task/TID/stat</c> (<c>utime + stime</c>, in clock ticks), with the thread names
/// from <c>comm</c>. Two snapshots around a window give the cores used in it.
/// </summary>
internal sealed class ProcessCpu
{
    /// <summary>Clock ticks per second of the stat files (USER_HZ, 100 on every Linux in use).</summary>
    public static readonly long TicksPerSecond = ReadTicksPerSecond();

    private ProcessCpu(long timeNs, long ticks, Dictionary<int, (string Name, long Ticks)> threads)
    {
        TimeNs = timeNs;
        Ticks = ticks;
        Threads = threads;
    }

    public long TimeNs { get; }

    /// <summary>The whole process, exited threads included.</summary>
    public long Ticks { get; }

    public Dictionary<int, (string Name, long Ticks)> Threads { get; }

    /// <summary>Reads process <paramref name="pid"/>; <paramref name="threadPrefix"/> keeps only the threads whose name starts with it.</summary>
    public static ProcessCpu Read(int pid, string? threadPrefix = null)
    {
        long now = Clock.NowNs();
        long total = TryParse(File.ReadAllText($"/proc/{pid}/stat"), out string _, out long t)
            ? t
            : throw new InvalidOperationException($"cannot parse /proc/{pid}/stat");
        var threads = new Dictionary<int, (string, long)>();
        foreach (string dir in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            string text;
            try
            {
                text = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (IOException)
            {
                continue; // the thread exited between listing and reading
            }

            if (TryParse(text, out string name, out long ticks) && (threadPrefix is null || name.StartsWith(threadPrefix, StringComparison.Ordinal)))
            {
                threads[int.Parse(Path.GetFileName(dir), CultureInfo.InvariantCulture)] = (name, ticks);
            }
        }

        if (threadPrefix is not null)
        {
            total = threads.Values.Sum(x => x.Item2);
        }

        return new ProcessCpu(now, total, threads);
    }

    /// <summary>Cores used between <paramref name="first"/> and <paramref name="last"/>, and by each thread alive at the end (busiest first).</summary>
    public static CpuUse Between(ProcessCpu first, ProcessCpu last)
    {
        double seconds = (last.TimeNs - first.TimeNs) / 1e9;
        double Cores(long ticks) => seconds <= 0 ? double.NaN : ticks / (double)TicksPerSecond / seconds;
        var threads = new List<ThreadUse>();
        foreach ((int tid, (string name, long ticks)) in last.Threads)
        {
            long before = first.Threads.TryGetValue(tid, out var f) ? f.Ticks : 0;
            threads.Add(new ThreadUse(tid, name, Cores(ticks - before)));
        }

        threads.Sort((a, b) => b.Cores.CompareTo(a.Cores));
        return new CpuUse(Cores(last.Ticks - first.Ticks), (last.Ticks - first.Ticks) * (1e9 / TicksPerSecond), threads);
    }

    /// <summary>Name (comm, between the first '(' and the last ')') and utime + stime.</summary>
    private static bool TryParse(string stat, out string name, out long ticks)
    {
        name = "";
        ticks = 0;
        int open = stat.IndexOf('(', StringComparison.Ordinal);
        int close = stat.LastIndexOf(')');
        if (open < 0 || close < open)
        {
            return false;
        }

        name = stat[(open + 1)..close];

        // After "pid (comm) ": state is field 3, so utime (14) and stime (15) are the 12th and 13th.
        string[] rest = stat[(close + 2)..].Split(' ');
        return rest.Length > 12
            && long.TryParse(rest[11], NumberStyles.None, CultureInfo.InvariantCulture, out long user)
            && long.TryParse(rest[12], NumberStyles.None, CultureInfo.InvariantCulture, out long system)
            && (ticks = user + system) >= 0;
    }

    private static long ReadTicksPerSecond()
    {
        long hz = Libc.sysconf(Libc.ScClkTck);
        return hz > 0 ? hz : 100;
    }
}

/// <summary>CPU used over a window: cores on average, CPU-ns in all, and per thread.</summary>
internal sealed record CpuUse(double Cores, double CpuNs, List<ThreadUse> Threads)
{
    public static readonly CpuUse None = new(double.NaN, double.NaN, []);

    /// <summary>The busiest threads by name (threads of one name summed, ×N when several): <c>name×2 1.10, other 0.40</c>.</summary>
    public string Top(int count, double minCores = 0.02)
    {
        var byName = Threads
            .GroupBy(t => t.Name)
            .Select(g => (Name: g.Key, N: g.Count(), Cores: g.Sum(t => t.Cores)))
            .Where(g => g.Cores >= minCores)
            .OrderByDescending(g => g.Cores)
            .Take(count)
            .Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Name}{(g.N > 1 ? $"×{g.N}" : "")} {g.Cores:0.00}"));
        return string.Join(", ", byName);
    }
}

internal sealed record ThreadUse(int Tid, string Name, double Cores);

/// <summary>
/// The machine's CPU time from the first line of <c>/proc/stat</c>: what no process used (idle and
/// iowait) and what the hypervisor took (steal), to tell a system that leaves cores idle from a
/// machine that was saturated or shared.
/// </summary>
internal sealed record MachineCpu(long TimeNs, long IdleTicks, long StealTicks)
{
    public static MachineCpu Read()
    {
        long now = Clock.NowNs();
        string line = File.ReadLines("/proc/stat").First();

        // cpu user nice system idle iowait irq softirq steal ...
        string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long Field(int i) => f.Length > i ? long.Parse(f[i], CultureInfo.InvariantCulture) : 0;
        return new MachineCpu(now, Field(4) + Field(5), Field(8));
    }

    /// <summary>Idle and stolen cores on average between two readings.</summary>
    public static (double Idle, double Steal) Between(MachineCpu first, MachineCpu last)
    {
        double seconds = (last.TimeNs - first.TimeNs) / 1e9;
        return seconds <= 0
            ? (double.NaN, double.NaN)
            : ((last.IdleTicks - first.IdleTicks) / (double)ProcessCpu.TicksPerSecond / seconds,
               (last.StealTicks - first.StealTicks) / (double)ProcessCpu.TicksPerSecond / seconds);
    }
}
