using System.Reflection;
using EventDaemon.Events.Ingest;
using EventDaemon.Events.Memory;
using EventDaemon.Ring;
using Xunit;

namespace EventDaemon.Events.Tests.Ingest;

/// <summary>
/// What producers write for every event or batch must not share a cache line with what consumers
/// read for every event: the arena's head beside its region and mask, the ring's known tail beside
/// its arena, catalog and rows. A padded field (<see cref="PaddedLong"/>) is what keeps them apart.
/// </summary>
public sealed class FalseSharingTests
{
    [Theory]
    [InlineData(typeof(PayloadArena), "_head")]
    [InlineData(typeof(EventRing), "_knownTail")]
    public void ProducerWrittenFields_ArePaddedOffTheLinesConsumersRead(Type owner, string field)
    {
        FieldInfo? info = owner.GetField(field, BindingFlags.NonPublic | BindingFlags.Instance);
        Assert.True(info is not null, $"{owner.Name} has no field {field}");
        Assert.True(info!.FieldType == typeof(PaddedLong),
            $"{owner.Name}.{field} is a {info.FieldType.Name}: a producer's write to it would invalidate the line consumers read the object's other fields from");
    }

    [Fact]
    public void PaddedArenaHead_StillTracksReservations()
    {
        using var arena = new PayloadArena(4096, lockMemory: false);
        Assert.True(arena.TryReserve(100, tail: 0, out long first), "a first reservation in an empty arena failed");
        Assert.True(arena.TryReserve(50, tail: 0, out long second), "a second reservation in a near-empty arena failed");
        Assert.True(first == 0 && second == 100, $"reservations at {first} and {second}, expected 0 and 100");
        Assert.True(arena.Head == 150, $"head {arena.Head} after reserving 150 bytes");
    }
}
