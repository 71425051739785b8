using System.Runtime.InteropServices;
using System.Text;
using EventDaemon.Stages.Aggregation;
using Xunit;

namespace EventDaemon.Stages.Tests.Aggregation;

/// <summary>
/// The group table on its own: lookup against a dictionary model (growth, removal, reuse), the
/// caller's key hash, the max_groups bound, exact quantiles of small groups and the sketch's bound
/// for large ones, and the native memory a group costs.
/// </summary>
public class GroupTableTests
{
    private const long Second = 1_000_000_000;
    private const long Base = 1_764_151_200_000_000_000;

    private static readonly double[] Qs = [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1];

    [Fact]
    public void Layout_EntryFieldsAtTheirDocumentedOffsets()
    {
        Assert.True(Marshal.SizeOf<GroupHeader>() == 96, $"a group entry's fixed part should be 96 bytes, is {Marshal.SizeOf<GroupHeader>()}");
        Assert.True(Marshal.SizeOf<IndexSlot>() == IndexSlot.Size, $"an index slot should be {IndexSlot.Size} bytes, is {Marshal.SizeOf<IndexSlot>()}");
        (string Field, int Offset)[] expected =
        [
            (nameof(GroupHeader.WindowStart), 0), (nameof(GroupHeader.Tag), 8), (nameof(GroupHeader.KeyLength), 12),
            (nameof(GroupHeader.Count), 48), (nameof(GroupHeader.Sum), 56), (nameof(GroupHeader.Min), 64),
            (nameof(GroupHeader.Max), 72), (nameof(GroupHeader.Valued), 80), (nameof(GroupHeader.NextInWindow), 84),
            (nameof(GroupHeader.LongKey), 88), (nameof(GroupHeader.Block), 92),
        ];
        foreach ((string field, int offset) in expected)
        {
            int actual = (int)Marshal.OffsetOf<GroupHeader>(field);
            Assert.True(actual == offset, $"GroupHeader.{field} should sit at byte {offset} (the key is inline at 16..48), sits at {actual}");
        }
    }

    [Fact]
    public void FindOrAdd_SameWindowAndKey_IsOneGroup_OtherWindowOrKeyIsAnother()
    {
        using var table = new GroupTable(100, withSketch: false);
        int a = table.FindOrAdd(Base, "purchase/user-1"u8, out bool addedA);
        int again = table.FindOrAdd(Base, "purchase/user-1"u8, out bool addedAgain);
        int nextWindow = table.FindOrAdd(Base + Second, "purchase/user-1"u8, out bool addedNext);
        int otherKey = table.FindOrAdd(Base, "purchase/user-2"u8, out bool addedOther);

        Assert.True(addedA && a >= 0, $"the first lookup should add a group, returned {a} (added {addedA})");
        Assert.True(again == a && !addedAgain, $"the same window and key should find group {a}, found {again} (added {addedAgain})");
        Assert.True(addedNext && nextWindow != a, $"the same key in the next window should be a new group, got {nextWindow} (added {addedNext})");
        Assert.True(addedOther && otherKey != a && otherKey != nextWindow, $"another key should be a new group, got {otherKey} (added {addedOther})");
        Assert.True(table.Count == 3, $"three groups should be alive, {table.Count} are");
        Assert.True(table.Key(otherKey).SequenceEqual("purchase/user-2"u8), $"the key should read back, read '{Encoding.UTF8.GetString(table.Key(otherKey))}'");
    }

    [Fact]
    public void FindOrAdd_CallerHash_FindsWhatTheTableHashedItself()
    {
        using var table = new GroupTable(100, withSketch: false);
        byte[] key = "click/user-77"u8.ToArray();
        int added = table.FindOrAdd(Base, key, out _);

        // Computed elsewhere, from another copy of the bytes, before the window was known.
        ulong hash = GroupTable.HashKey("click/user-77"u8.ToArray());
        int found = table.FindOrAdd(Base, key, hash, out bool addedAgain);
        Assert.True(found == added && !addedAgain, $"a caller-computed hash should find group {added}, found {found} (added {addedAgain})");

        int otherWindow = table.FindOrAdd(Base + Second, key, hash, out bool addedOther);
        Assert.True(otherWindow != added && addedOther, "the same key hash in another window should still be another group: the table mixes the window in");
    }

    [Fact]
    public void HashKey_DependsOnEveryByteAndTheLength()
    {
        var seen = new HashSet<ulong>();
        byte[] key = new byte[AggregateSpec.MaxKeyBytes];
        int hashes = 0;
        for (int length = 0; length <= key.Length; length++)
        {
            seen.Add(GroupTable.HashKey(key.AsSpan(0, length)));
            hashes++;
            for (int i = 0; i < length; i++)
            {
                key[i] = 1;
                seen.Add(GroupTable.HashKey(key.AsSpan(0, length)));
                key[i] = 0;
                hashes++;
            }
        }

        // 8,385 keys in a 32-bit hash with a per-process seed: a collision happens by chance in about
        // one process of 120 (n² / 2³³), three in fewer than one of a million. A hash that ignored a
        // byte or the length would collide thousands of times.
        Assert.True(hashes - seen.Count <= 2, $"every length of zeros and every single-byte change should hash differently: {hashes - seen.Count} of {hashes} collided");
    }

    [Theory]
    [InlineData(1, 64)]
    [InlineData(2, 5_000)]
    [InlineData(3, 40_000)]
    public void RandomAddsFindsAndRemoves_MatchADictionary(int seed, int maxGroups)
    {
        using var table = new GroupTable(maxGroups, withSketch: false);
        var model = new Dictionary<(long Window, string Key), int>();
        var live = new List<(long Window, string Key)>();
        var liveEntries = new HashSet<int>();
        var random = new Random(seed);
        int keySpace = maxGroups * 2;
        for (int step = 0; step < maxGroups * 20; step++)
        {
            if (random.Next(3) == 0 && live.Count > 0)
            {
                // Remove some group (a closing window frees its groups one by one, in any order).
                int at = random.Next(live.Count);
                (long Window, string Key) victim = live[at];
                live[at] = live[^1];
                live.RemoveAt(live.Count - 1);
                table.Remove(model[victim]);
                liveEntries.Remove(model[victim]);
                model.Remove(victim);
                continue;
            }

            long window = Base + (random.Next(3) * Second);
            // Short keys stay inline, some exceed it and spill into a long-key block.
            string key = random.Next(8) == 0 ? $"long-{new string('k', 40)}-{random.Next(keySpace)}" : $"k{random.Next(keySpace)}";
            byte[] bytes = Encoding.UTF8.GetBytes(key);
            int entry = table.FindOrAdd(window, bytes, out bool added);
            if (model.TryGetValue((window, key), out int expected))
            {
                Assert.True(entry == expected && !added, $"seed {seed} step {step}: ({window}, {key}) should be found at {expected}, got {entry} (added {added})");
            }
            else if (model.Count == maxGroups)
            {
                Assert.True(entry == -1 && !added, $"seed {seed} step {step}: with {maxGroups} groups alive a new group should be refused, got {entry}");
            }
            else
            {
                Assert.True(entry >= 0 && added && liveEntries.Add(entry), $"seed {seed} step {step}: ({window}, {key}) should be added at a free entry, got {entry} (added {added})");
                Assert.True(table.Key(entry).SequenceEqual(bytes) && table.Header(entry).WindowStart == window, $"seed {seed} step {step}: the new group should hold its key and window");
                model[(window, key)] = entry;
                live.Add((window, key));
            }

            Assert.True(table.Count == model.Count, $"seed {seed} step {step}: {model.Count} groups should be alive, the table counts {table.Count}");
        }

        foreach (((long window, string key), int entry) in model)
        {
            int found = table.FindOrAdd(window, Encoding.UTF8.GetBytes(key), out bool added);
            Assert.True(found == entry && !added, $"seed {seed}: at the end ({window}, {key}) should still be found at {entry}, got {found}");
        }

        uint largestIndex = System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, 2 * maxGroups));
        Assert.True(table.PeakGroups <= maxGroups && table.IndexCapacity <= largestIndex,
            $"seed {seed}: the table should never exceed max_groups ({table.PeakGroups} entries used, index of {table.IndexCapacity} slots)");
    }

    [Theory]
    [InlineData(4, false)]
    [InlineData(5, true)]
    public void ReleasedInBulk_IndexRebuiltFromTheListsLeft_FindsExactlyTheGroupsThatStay(int seed, bool quantiles)
    {
        using var table = new GroupTable(20_000, quantiles);
        var random = new Random(seed);
        // Two windows' groups on two lists, as the aggregate links them; the older one is most of the table.
        var lists = new List<int>[] { [], [] };
        var keys = new List<(long Window, string Key, int Entry)>();
        for (int i = 0; i < 12_000; i++)
        {
            int w = random.Next(4) == 0 ? 1 : 0;
            string key = random.Next(8) == 0 ? $"long-{new string('k', 40)}-{i}" : $"k{i}";
            int entry = table.FindOrAdd(Base + (w * Second), Encoding.UTF8.GetBytes(key), out bool added);
            Assert.True(added, $"seed {seed}: group {i} should be new");
            for (int v = 0; v < 40; v++)
            {
                ref GroupHeader g = ref table.Header(entry);
                g.Valued++;
                if (quantiles)
                {
                    table.AddQuantileValue(entry, v + 1);
                }
            }

            Link(table, lists[w], entry);
            keys.Add((Base + (w * Second), key, entry));
        }

        int older = lists[0].Count;
        Assert.True(table.RemovesInBulk(older), $"seed {seed}: {older} of {table.Count} groups should be removed in bulk");
        foreach (int entry in lists[0])
        {
            table.Release(entry);
        }

        table.RebuildIndex([lists[1].Count > 0 ? lists[1][0] : -1]);
        Assert.True(table.Count == lists[1].Count && table.IndexRebuilds == 1, $"seed {seed}: {lists[1].Count} groups should stay, the table counts {table.Count}");
        foreach ((long window, string key, int entry) in keys)
        {
            bool stays = window == Base + Second;
            int found = table.FindOrAdd(window, Encoding.UTF8.GetBytes(key), out bool added);
            Assert.True(stays ? found == entry && !added : added, $"seed {seed}: ({window}, {key}) should {(stays ? $"be found at {entry}" : "be gone and added anew")}, got {found} (added {added})");
        }

        Assert.True(table.PeakGroups == 12_000, $"seed {seed}: the released entries should be reused, {table.PeakGroups} entries were used");
    }

    private static void Link(GroupTable table, List<int> list, int entry)
    {
        table.Header(entry).NextInWindow = -1;
        if (list.Count > 0)
        {
            table.Header(list[^1]).NextInWindow = entry;
        }

        list.Add(entry);
    }

    [Fact]
    public void MaxGroupsReached_NewGroupsRefused_UntilOneIsFreed_ThenItsEntryIsReused()
    {
        using var table = new GroupTable(3, withSketch: true);
        int[] entries = [.. Enumerable.Range(0, 3).Select(i => table.FindOrAdd(Base, Encoding.UTF8.GetBytes($"k{i}"), out _))];
        int refused = table.FindOrAdd(Base, "k3"u8, out bool added);
        Assert.True(refused == -1 && !added, $"a fourth group over max_groups 3 should be refused, got {refused} (added {added})");

        table.Remove(entries[1]);
        int reused = table.FindOrAdd(Base, "k3"u8, out added);
        Assert.True(reused == entries[1] && added, $"the freed entry {entries[1]} should be reused, got {reused}");
        Assert.True(table.FindOrAdd(Base, "k0"u8, out _) == entries[0] && table.FindOrAdd(Base, "k2"u8, out _) == entries[2], "groups that stayed should still be found after a removal");
        Assert.True(table.PeakGroups == 3, $"no more than 3 entries should ever be used, {table.PeakGroups} were");
    }

    [Fact]
    public void KeyLongerThanMaxKeyBytes_Refused()
    {
        using var table = new GroupTable(10, withSketch: false);
        int entry = table.FindOrAdd(Base, new byte[AggregateSpec.MaxKeyBytes + 1], out bool added);
        Assert.True(entry == -1 && !added && table.Count == 0, $"a key over {AggregateSpec.MaxKeyBytes} bytes should be refused, got {entry}");
        int longest = table.FindOrAdd(Base, new byte[AggregateSpec.MaxKeyBytes], out added);
        Assert.True(longest >= 0 && added && table.Key(longest).Length == AggregateSpec.MaxKeyBytes, "a key of exactly the bound should be kept whole");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(GroupTable.InlineValues)]
    [InlineData(GroupTable.InlineValues + 1)]
    [InlineData(17)]
    [InlineData(GroupTable.BlockValues)]
    public void SmallGroup_QuantilesAreExact(int count)
    {
        using var table = new GroupTable(10, withSketch: true);
        var random = new Random(count);
        double[] values = [.. Enumerable.Range(0, count).Select(_ => Math.Round((random.NextDouble() - 0.3) * 1e4, 2))];
        int entry = Fill(table, Base, "g"u8, values);
        Span<double> scratch = stackalloc double[GroupTable.BlockValues];
        GroupQuantiles quantiles = table.Quantiles(entry, scratch);
        Assert.True(quantiles.Exact, $"a group of {count} values (≤ {GroupTable.BlockValues}) should keep them exactly");
        foreach (double q in Qs)
        {
            double exact = Exact(values, q);
            double got = quantiles.At(q);
            Assert.True(got == exact, $"{count} values: q={q} should be exactly {exact:R}, was {got:R}");
        }
    }

    [Theory]
    [InlineData("uniform", 33)]
    [InlineData("uniform", 5_000)]
    [InlineData("ascending-wide", 2_000)]
    [InlineData("descending-wide", 2_000)]
    [InlineData("negative", 300)]
    public void GroupOutgrowingExactValues_SketchKeepsTheBound(string distribution, int count)
    {
        // ascending/descending-wide span 1 to 10 000 in order: the sketch shifts its bins as values arrive.
        using var table = new GroupTable(10, withSketch: true);
        double[] values = Sample(distribution, count, new Random(count));
        int entry = Fill(table, Base, "g"u8, values);
        Span<double> scratch = stackalloc double[GroupTable.BlockValues];
        GroupQuantiles quantiles = table.Quantiles(entry, scratch);
        Assert.True(!quantiles.Exact, $"{count} values (> {GroupTable.BlockValues}) should be in a sketch");
        foreach (double q in Qs)
        {
            double exact = Exact(values, q);
            double got = quantiles.At(q);
            double error = Math.Abs(got - exact) / Math.Abs(exact);
            Assert.True(error <= LineCheck.QuantileTolerance, $"{distribution} × {count}: q={q} should be within 1% of {exact:R}, was {got:R} ({error:P3} off)");
        }
    }

    [Fact]
    public void FreedSketchesAndValueBlocks_ReusedClean_QuantilesOfTheNextGroupsKeepTheBound()
    {
        using var table = new GroupTable(4, withSketch: true);
        Span<double> scratch = stackalloc double[GroupTable.BlockValues];
        var random = new Random(9);
        long touched = 0;
        for (int round = 0; round < 20; round++)
        {
            // Each round: one sketch group over a shifting range, one value-block group, one inline group.
            long window = Base + (round * Second);
            double scale = Math.Pow(10, round % 5);
            double[] big = [.. Enumerable.Range(0, 500).Select(_ => scale * (1 + (random.NextDouble() * 99)))];
            double[] medium = [.. Enumerable.Range(0, 20).Select(_ => random.NextDouble() * 50)];
            double[] small = [random.NextDouble(), -random.NextDouble()];
            int a = Fill(table, window, "big"u8, big);
            int b = Fill(table, window, "medium"u8, medium);
            int c = Fill(table, window, "small"u8, small);
            foreach ((int entry, double[] values, string name) in new[] { (a, big, "big"), (b, medium, "medium"), (c, small, "small") })
            {
                GroupQuantiles quantiles = table.Quantiles(entry, scratch);
                foreach (double q in Qs)
                {
                    double exact = Exact(values, q);
                    double got = quantiles.At(q);
                    Assert.True(Math.Abs(got - exact) <= LineCheck.QuantileTolerance * Math.Abs(exact),
                        $"round {round}, {name} group: q={q} should be within 1% of {exact:R}, was {got:R} (a reused block must start clean)");
                }
            }

            table.Remove(a);
            table.Remove(b);
            table.Remove(c);
            if (round == 0)
            {
                touched = table.BytesTouched;
            }

            Assert.True(table.BytesTouched == touched, $"round {round}: freed entries and blocks should be reused, but touched memory grew from {touched} to {table.BytesTouched} bytes");
            Assert.True(table.Count == 0 && table.BytesInUse == (long)table.IndexCapacity * IndexSlot.Size, $"round {round}: after removing every group only the index should be in use, {table.BytesInUse} bytes are");
        }
    }

    [Theory]
    [InlineData(false, 1, 128)]
    [InlineData(true, 1, 160)]
    [InlineData(true, GroupTable.InlineValues, 160)]
    [InlineData(true, GroupTable.BlockValues, 160 + 256)]
    [InlineData(true, 100, 160 + 2048)]
    public void BytesPerGroup_FollowWhatTheGroupHolds(bool quantiles, int valuesPerGroup, int boundPerGroup)
    {
        // 15 000 groups (5 000 keys × 3 types) with 10-30 byte keys: an entry of 96 or 128 bytes, at
        // most 32 bytes of index per group, and a block only for groups that outgrow their entry.
        const int Groups = 15_000;
        using var table = new GroupTable(100_000, quantiles);
        string[] types = ["purchase", "checkout", "pageview"];
        for (int g = 0; g < Groups; g++)
        {
            byte[] key = Encoding.UTF8.GetBytes($"{types[g % 3]}/user-{g / 3:D5}");
            double[] values = [.. Enumerable.Range(0, valuesPerGroup).Select(i => (double)(i + g))];
            Fill(table, Base, key, quantiles ? values : [1.0]);
        }

        double perGroup = (double)table.BytesInUse / Groups;
        Assert.True(perGroup <= boundPerGroup, $"{Groups} groups of {valuesPerGroup} value(s) (quantiles {quantiles}) should hold at most {boundPerGroup} bytes each, hold {perGroup:F0}");
        double touchedPerGroup = (double)table.BytesTouched / Groups;
        Assert.True(touchedPerGroup <= boundPerGroup, $"touched memory (in use, plus the index's spare array and a reused values block) should stay within {boundPerGroup} bytes a group, is {touchedPerGroup:F0}");
        Assert.True(table.EntryBytes == (quantiles ? 128 : 96), $"an entry should be {(quantiles ? 128 : 96)} bytes, is {table.EntryBytes}");
    }

    [Fact]
    public void Memory_BoundedByMaxGroups_OverflowTouchesNothingMore()
    {
        const int MaxGroups = 1000;
        using var table = new GroupTable(MaxGroups, withSketch: true);
        int refused = 0;
        for (int g = 0; g < 3 * MaxGroups; g++)
        {
            int entry = table.FindOrAdd(Base, Encoding.UTF8.GetBytes($"{new string('x', 60)}{g}"), out bool added);
            if (entry < 0)
            {
                refused++;
                continue;
            }

            for (int v = 0; v < 40; v++)
            {
                ref GroupHeader h = ref table.Header(entry);
                h.Valued++;
                table.AddQuantileValue(entry, v + 1);
            }
        }

        // Every group at its largest: entry, spilled key, sketch (its values block was returned), index of ≤ 4 slots a group.
        long bound = (long)MaxGroups * (128 + AggregateSpec.MaxKeyBytes + (GroupTable.BlockValues * 8) + 2048 + (4 * IndexSlot.Size));
        Assert.True(refused == 2 * MaxGroups, $"groups past max_groups should be refused: {refused} of {2 * MaxGroups} were");
        Assert.True(table.BytesTouched <= bound, $"touched memory should stay within max_groups' worth ({bound} bytes), is {table.BytesTouched}");
    }

    /// <summary>Adds the values to the group as the aggregate does (Valued counts each before the table stores it).</summary>
    internal static int Fill(GroupTable table, long window, ReadOnlySpan<byte> key, double[] values)
    {
        int entry = table.FindOrAdd(window, key, out bool added);
        Assert.True(entry >= 0 && added, $"the group '{Encoding.UTF8.GetString(key)}' should be new");
        ref GroupHeader h = ref table.Header(entry);
        h.Min = double.PositiveInfinity;
        h.Max = double.NegativeInfinity;
        foreach (double v in values)
        {
            h.Count++;
            h.Valued++;
            h.Min = Math.Min(h.Min, v);
            h.Max = Math.Max(h.Max, v);
            if (table.WithQuantiles)
            {
                table.AddQuantileValue(entry, v);
            }
        }

        return entry;
    }

    private static double Exact(double[] values, double q)
    {
        double[] sorted = [.. values.Order()];
        long rank = Math.Max(1, (long)Math.Ceiling(q * sorted.Length));
        return sorted[rank - 1];
    }

    private static double[] Sample(string distribution, int count, Random random) => distribution switch
    {
        "uniform" => [.. Enumerable.Range(0, count).Select(_ => 1 + (random.NextDouble() * 999))],
        "ascending-wide" => [.. Enumerable.Range(0, count).Select(i => Math.Pow(10_000, (double)i / count))],
        "descending-wide" => [.. Enumerable.Range(0, count).Select(i => Math.Pow(10_000, 1 - ((double)i / count)))],
        "negative" => [.. Enumerable.Range(0, count).Select(_ => -1 - (random.NextDouble() * 999))],
        _ => throw new ArgumentException(distribution),
    };
}
