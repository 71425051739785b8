using System.Runtime.CompilerServices;
using EventDaemon.Events;
using EventDaemon.Events.Fields;
using EventDaemon.Events.Ingest;
using EventDaemon.Stages.Transforms;
using EventDaemon.Stages.Transforms.Internal;

namespace EventDaemon.Stages.Routing;

/// <summary>How a stage split over several threads (<c>threads = N</c>) shares its events out.</summary>
public enum PartitionKind : byte
{
    /// <summary>One thread: every event.</summary>
    Whole,

    /// <summary>Stateless stages (filter, route, enrich): runs of <see cref="Partition.SequenceRun"/> consecutive events each.</summary>
    Sequence,

    /// <summary>An aggregate's group key, hashed by the reader threads: every event of a group on one thread.</summary>
    GroupKey,

    /// <summary>A sample, throttle or dedupe key (its value's text): every event of a key on one thread.</summary>
    Selector,
}

/// <summary>
/// Which share of a ring's events one thread of a split stage takes. Every thread of the stage
/// (and of the stages fused before it on those threads) reads every slot and keeps only its own:
/// the threads need no coordination, and a key's state lives on one thread, so each thread's
/// results are exactly what one thread would compute for those keys.
/// </summary>
public readonly struct Partition
{
    /// <summary>Events per run when splitting by sequence: whole runs keep each thread's slots adjacent.</summary>
    public const int SequenceRun = 64;

    private readonly KeyPart[]? _groupKey;
    private readonly int _keyIndex;
    private readonly FieldSelector? _selector;

    private Partition(PartitionKind kind, int index, int count, KeyPart[]? groupKey, int keyIndex, FieldSelector? selector)
    {
        if (count < 1 || (uint)index >= (uint)count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"partition {index} of {count}");
        }

        Kind = count == 1 ? PartitionKind.Whole : kind;
        Index = index;
        Count = count;
        _groupKey = groupKey;
        _keyIndex = keyIndex;
        _selector = selector;
    }

    /// <summary>One thread takes everything (the default).</summary>
    public static Partition Whole => new(PartitionKind.Whole, 0, 1, null, -1, null);

    public PartitionKind Kind { get; }

    public int Index { get; }

    public int Count { get; }

    public static Partition BySequence(int index, int count) => new(PartitionKind.Sequence, index, count, null, -1, null);

    /// <summary>By group key: <paramref name="keyIndex"/> is the key's index in the ring's catalog
    /// (its hash comes from the row), or -1 to hash it here.</summary>
    public static Partition ByGroupKey(int index, int count, KeyPart[] parts, int keyIndex) =>
        new(PartitionKind.GroupKey, index, count, parts, keyIndex, null);

    public static Partition BySelector(int index, int count, FieldSelector selector) =>
        new(PartitionKind.Selector, index, count, null, -1, selector);

    /// <summary>The same split with its field and key indices bound to the stage's catalog.</summary>
    public Partition In(FieldCatalog catalog) => Kind switch
    {
        PartitionKind.GroupKey => ByGroupKey(Index, Count, Array.ConvertAll(_groupKey!, p => p.In(catalog)), catalog.KeyIndexOf(_groupKey)),
        PartitionKind.Selector => BySelector(Index, Count, _selector!.In(catalog)),
        _ => this,
    };

    /// <summary>Whether this thread takes the event at <paramref name="sequence"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Owns(in EventView view, long sequence) => Kind switch
    {
        PartitionKind.Whole => true,
        PartitionKind.Sequence => (int)((ulong)(sequence / SequenceRun) % (uint)Count) == Index,
        PartitionKind.GroupKey => GroupKey.Partition(view.TryGetKeyHash(_keyIndex, out uint hash) ? hash : HashHere(in view), Count) == Index,
        _ => GroupKey.Partition(SelectorHash(in view, _selector!), Count) == Index,
    };

    /// <summary>Whether this thread leaves the event to another: never for a stage on one thread,
    /// whose cost is then one compare.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Skips(EventReader reader, ref EventSlot slot, long sequence) =>
        Kind != PartitionKind.Whole && !Owns(reader.View(ref slot, sequence), sequence);

    /// <summary>A group key the catalog does not carry (a stage built without one, in tests).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private uint HashHere(in EventView view) => GroupKey.HashOf(in view, _groupKey);

    /// <summary>The selector's value text hashed with a fixed seed, so every thread of the stage
    /// agrees; events without the field all go to one thread (as one throttle budget would).</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static uint SelectorHash(in EventView view, FieldSelector selector)
    {
        if (!selector.TryLocate(in view, out int offset, out int length, out bool escaped))
        {
            return 0;
        }

        Span<byte> scratch = stackalloc byte[FieldSelector.ScratchBytes];
        ulong hash = StableHash.Hash(FieldSelector.Text(view.Payload, offset, length, escaped, scratch), PartitionSeed);
        return (uint)(hash >> 32) ^ (uint)hash;
    }

    private const ulong PartitionSeed = 0x6A09E667F3BCC909;
}
