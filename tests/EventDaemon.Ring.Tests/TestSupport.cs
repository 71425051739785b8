using System.Diagnostics;
using System.Runtime.InteropServices;

namespace EventDaemon.Ring.Tests;

/// <summary>What the tests put in slots: a value plus one stamp per stage, to check ordering.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct TestSlot
{
    public long Value;
    public long Producer;
    public long StageA;
    public long StageB;
    public long StageC;
}

internal static class Wait
{
    /// <summary>Polls <paramref name="condition"/> until it holds or the deadline passes; no blind sleeps.</summary>
    public static bool Until(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                return false;
            }

            Thread.Sleep(1);
        }

        return true;
    }
}

/// <summary>CPU time of one kernel thread, from /proc (utime + stime, in clock ticks).</summary>
internal static class ThreadCpu
{
    public static long Ticks(int threadId)
    {
        string stat = File.ReadAllText($"/proc/self/task/{threadId}/stat");
        // Fields after the parenthesised name: state is field 3; utime and stime are 14 and 15.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11]) + long.Parse(fields[12]);
    }
}
