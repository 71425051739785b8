using System.Runtime.InteropServices;
using EventDaemon.Ring.Interop;

namespace EventDaemon.Ring.Threading;

/// <summary>CPU pinning of the calling thread and read-back of any thread's mask (Linux only).</summary>
public static unsafe class Affinity
{
    /// <summary>1024 CPUs, glibc's cpu_set_t: enough for any machine this runs on.</summary>
    private const int MaskWords = 16;

    /// <summary>The kernel's id of the calling thread (what <c>top -H</c> and <c>perf</c> show).</summary>
    public static int CurrentThreadId() => Libc.gettid();

    /// <summary>Restricts the calling thread to <paramref name="cpus"/>.</summary>
    /// <returns>null on success, else why it failed (e.g. a CPU outside the process's cpuset).</returns>
    public static string? PinCurrentThread(ReadOnlySpan<int> cpus)
    {
        ulong* mask = stackalloc ulong[MaskWords];
        new Span<ulong>(mask, MaskWords).Clear();
        foreach (int cpu in cpus)
        {
            if (cpu < 0 || cpu >= MaskWords * 64)
            {
                return $"CPU {cpu} is out of range";
            }

            mask[cpu / 64] |= 1UL << (cpu % 64);
        }

        if (Libc.sched_setaffinity(0, MaskWords * sizeof(ulong), mask) != 0)
        {
            return $"cannot pin to CPUs [{string.Join(',', cpus.ToArray())}]: {Libc.ErrorText(Marshal.GetLastPInvokeError())}";
        }

        return null;
    }

    /// <summary>The CPUs thread <paramref name="threadId"/> (0 = calling thread) may run on.</summary>
    public static int[] Get(int threadId)
    {
        ulong* mask = stackalloc ulong[MaskWords];
        if (Libc.sched_getaffinity(threadId, MaskWords * sizeof(ulong), mask) != 0)
        {
            return [];
        }

        var cpus = new List<int>();
        for (int cpu = 0; cpu < MaskWords * 64; cpu++)
        {
            if ((mask[cpu / 64] & (1UL << (cpu % 64))) != 0)
            {
                cpus.Add(cpu);
            }
        }

        return cpus.ToArray();
    }
}
