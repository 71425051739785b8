using EventDaemon.Ring.Memory;
using Xunit;

namespace EventDaemon.Ring.Tests;

public sealed class NativeRegionTests
{
    [Fact]
    public void ARegion_IsZeroedWritableAndPaddedAtBothEnds()
    {
        using NativeRegion region = NativeRegion.Allocate(10_000, lockMemory: false);
        Assert.True(region.Length == 10_000, $"usable length {region.Length}");
        Assert.True(region.MappedLength >= 10_000 + 2 * NativeRegion.Padding, $"mapping of {region.MappedLength} bytes leaves no room for padding");
        Assert.True(region.MappedLength % Environment.SystemPageSize == 0, "mapping is not whole pages");
        Span<byte> bytes = region.Bytes;
        Assert.True(bytes.IndexOfAnyExcept((byte)0) < 0, "a fresh region is not zeroed");
        bytes.Fill(0xAB);
        Assert.True(region.At<byte>(9_999) == 0xAB, "the last usable byte did not keep its value");
    }

    [Fact]
    public void ALargeRegion_IsAdvisedForHugePages()
    {
        using NativeRegion region = NativeRegion.Allocate(8L << 20, lockMemory: false);
        bool thpAvailable = File.Exists("/sys/kernel/mm/transparent_hugepage/enabled")
            && !File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled").Contains("[never]");
        Assert.True(region.HugePagesAdvised == thpAvailable,
            $"huge pages advised: {region.HugePagesAdvised}, transparent huge pages available: {thpAvailable}");
    }

    [Fact]
    public void LockingWithinTheLimit_LocksOrExplainsWhyNot()
    {
        using NativeRegion region = NativeRegion.Allocate(64 * 1024, lockMemory: true);
        // As root (CAP_IPC_LOCK) or within RLIMIT_MEMLOCK the lock succeeds; the refusal path is
        // exercised by the AOT smoke run under a zero memlock limit (make test).
        bool allowed = Environment.UserName == "root" || NativeRegion.MemlockLimit() >= (ulong)region.MappedLength;
        Assert.True(region.IsLocked == allowed, $"locked: {region.IsLocked}, expected {allowed}; warning: {region.LockWarning}");
        Assert.True(region.IsLocked == (region.LockWarning is null), "a lock warning must be given exactly when locking failed");
    }

    [Fact]
    public void RingCapacity_MustBeAPowerOfTwo()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new RingBuffer<TestSlot>(1000));
        Assert.True(error.Message.Contains("power of two"), $"unhelpful message: {error.Message}");
    }

    [Fact]
    public void RingSlots_WrapAroundByMask()
    {
        using var ring = new RingBuffer<TestSlot>(8);
        ring[3].Value = 42;
        Assert.True(ring[3 + 8 * 1000].Value == 42, "sequence 8003 does not map to slot 3 of a ring of 8");
    }
}
