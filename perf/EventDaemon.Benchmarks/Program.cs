using BenchmarkDotNet.Running;

namespace EventDaemon.Benchmarks;

/// <summary>BenchmarkDotNet micro-benchmarks: <c>dotnet run -c Release -- --filter '*'</c> (or <c>make bench-micro</c>).</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
