using System.Runtime;
using Xunit;

namespace EventDaemon.Tests.Shared;

/// <summary>
/// Counts the garbage collections that run while a zero-allocation measurement runs, inside a
/// no-GC region. The test runner's own threads (result reporting, the pipe to the host) allocate
/// while a test runs; without the region their small allocations can tip a gen-0 collection that
/// would count against the code measured. The region's budget is far above what those threads
/// allocate and far below what a hot path that allocates per event would: a collection that still
/// runs means something allocated tens of megabytes during the measurement.
/// </summary>
public sealed class CollectionWatch : IDisposable
{
    private const long Budget = 64L * 1024 * 1024;

    private readonly int _gen0;
    private readonly int _gen1;
    private readonly int _gen2;
    private readonly bool _region;

    private CollectionWatch()
    {
        // Start from a settled heap, so the region gets its whole budget.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        _region = GC.TryStartNoGCRegion(Budget);
        _gen0 = GC.CollectionCount(0);
        _gen1 = GC.CollectionCount(1);
        _gen2 = GC.CollectionCount(2);
    }

    /// <summary>Starts watching; dispose it when the measurement ends.</summary>
    public static CollectionWatch Start() => new();

    /// <summary>Collections of any generation since <see cref="Start"/>.</summary>
    public int Collections => GC.CollectionCount(0) - _gen0 + (GC.CollectionCount(1) - _gen1) + (GC.CollectionCount(2) - _gen2);

    /// <summary>The counts per generation, for an assertion's message.</summary>
    public string Describe() =>
        $"gen0 {GC.CollectionCount(0) - _gen0}, gen1 {GC.CollectionCount(1) - _gen1}, gen2 {GC.CollectionCount(2) - _gen2}";

    public void Dispose()
    {
        // A collection ends the region by itself; ending it again would throw.
        if (_region && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
        {
            GC.EndNoGCRegion();
        }
    }
}

/// <summary>
/// Tests that count collections run alone, after the parallel ones: the counts are process-wide,
/// a no-GC region is process-wide and cannot nest, and another test's garbage (or its
/// <c>GC.Collect</c>) would count against the code measured.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationMeasurements
{
    public const string Name = "allocation measurements (collections counted process-wide)";
}
