using System.Runtime.InteropServices;

namespace EventDaemon.LoadGen.Bench;

/// <summary>What the numbers were measured on.</summary>
internal sealed record Machine(string Cpu, int Cpus, long MemoryBytes, string Kernel, string Runtime)
{
    public static Machine Describe()
    {
        string cpu = "unknown CPU";
        long memory = 0;
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
            string? total = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            if (total is not null)
            {
                memory = long.Parse(total.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (IOException)
        {
        }

        string kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : RuntimeInformation.OSDescription;
        return new Machine(cpu, Environment.ProcessorCount, memory, kernel, RuntimeInformation.FrameworkDescription);
    }

    public override string ToString() => $"{Cpus} vCPU {Cpu}, {MemoryBytes / (1L << 30)} GiB, Linux {Kernel}";
}
