using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EventDaemon.Events.Codecs.Internal;

/// <summary>The top-level members the decoder itself decodes into the slot.</summary>
internal enum WellKnownField : byte
{
    Other = 0,
    Ts,
    Type,
    Key,
    Value,
}

/// <summary>
/// Answers, for one member name of a line, both questions the decoder asks of it at once: is it a
/// well-known field, and which field of the ring's <see cref="Fields.FieldCatalog"/> is it. Built
/// once per catalog; a lookup is one multiply, one table load and one 16-byte compare.
/// </summary>
/// <remarks>
/// <para>Names of up to <see cref="MaxInlineName"/> bytes (every well-known name and nearly every
/// name a sender writes) are compared as one 16-byte vector, zero-padded past the name. The table
/// is a perfect hash over the names it holds: the builder tries multipliers until every name has a
/// slot of its own, so a lookup never probes, and a name the table does not hold lands on a slot
/// whose name differs. Longer names and escaped names take <see cref="FindSlow"/>, which unescapes
/// and compares the way the catalog always did.</para>
/// <para>A match is packed in an int: the <see cref="WellKnownField"/> in the low byte and the
/// catalog index + 1 above it; 0 means neither.</para>
/// </remarks>
internal sealed class MemberNameTable
{
    /// <summary>Longest name compared as one vector (a 16-byte load must also cover its closing quote to find it).</summary>
    public const int MaxInlineName = 15;

    private const int NoLength = -1;

    // Beyond this many slots a table would outgrow the cache lines it is meant to save; the names
    // of a catalog (≤ 68 with the well-known ones) separate long before it in practice, and if they
    // did not, every lookup would take the slow path, which is still correct.
    private const int MaxSlotBits = 12;

    private static readonly byte[][] WellKnownNames = ["ts"u8.ToArray(), "type"u8.ToArray(), "key"u8.ToArray(), "value"u8.ToArray()];

    private readonly Entry[]? _slots;
    private readonly ulong _lowMultiplier;
    private readonly ulong _highMultiplier;
    private readonly int _shift;

    // What Find returns for a name the table does not hold: 0 (neither), or -1 when the table is
    // not perfect and only FindSlow can tell.
    private readonly int _miss;
    private readonly bool _hasLongNames;
    private readonly Fields.FieldCatalog? _catalog;

    /// <summary>The table of the well-known names and of <paramref name="catalog"/>'s names (unescaped UTF-8).</summary>
    public MemberNameTable(IReadOnlyList<byte[]> names, Fields.FieldCatalog catalog)
    {
        _catalog = catalog;
        var wanted = new List<(byte[] Name, int Match)>();
        for (int w = 0; w < WellKnownNames.Length; w++)
        {
            wanted.Add((WellKnownNames[w], w + 1));
        }

        HasCatalogNames = names.Count != 0;
        for (int index = 0; index < names.Count; index++)
        {
            byte[] name = names[index];
            if (name.Length > MaxInlineName)
            {
                _hasLongNames = true;
                continue;
            }

            int at = wanted.FindIndex(e => e.Name.AsSpan().SequenceEqual(name));
            if (at >= 0)
            {
                wanted[at] = (name, wanted[at].Match | ((index + 1) << 8));
            }
            else
            {
                wanted.Add((name, (index + 1) << 8));
            }
        }

        // Deterministic: the same catalog gets the same table in every process.
        var random = new Random(0x5EED);
        for (int bits = BitOperations.Log2((uint)wanted.Count) + 2; bits <= MaxSlotBits && _slots is null; bits++)
        {
            for (int attempt = 0; attempt < 256; attempt++)
            {
                ulong low = (ulong)random.NextInt64() | 1, high = (ulong)random.NextInt64() | 1;
                Entry[] slots = TryPlace(wanted, low, high, bits);
                if (slots.Length != 0)
                {
                    _slots = slots;
                    _lowMultiplier = low;
                    _highMultiplier = high;
                    _shift = 64 - bits;
                    break;
                }
            }
        }

        if (_slots is null)
        {
            // Never seen in practice (see MaxSlotBits). One empty slot keeps Find in bounds, and its
            // miss value sends every name to FindSlow, which compares names one by one.
            _slots = [new Entry { Length = NoLength }];
            _shift = 63;
            _miss = -1;
        }
    }

    /// <summary>Whether the catalog has names of its own; without them the decoder asks only
    /// <see cref="WellKnown"/>, whose compares against constants cost less than a table lookup.</summary>
    public bool HasCatalogNames { get; }

    /// <summary>The match of a raw name of ≤ <see cref="MaxInlineName"/> bytes among the well-known names only, as <see cref="Find"/> takes it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WellKnown(Vector128<byte> loaded, int length)
    {
        ulong word = loaded.AsUInt64().ToScalar();
        return length switch
        {
            2 => (ushort)word == ('t' | ('s' << 8)) ? (int)WellKnownField.Ts : 0,
            3 => (word & 0xFF_FFFF) == ('k' | ('e' << 8) | ('y' << 16)) ? (int)WellKnownField.Key : 0,
            4 => (uint)word == ('t' | ('y' << 8) | ('p' << 16) | ((uint)'e' << 24)) ? (int)WellKnownField.Type : 0,
            5 => (word & 0xFF_FFFF_FFFF) == ('v' | ('a' << 8) | ('l' << 16) | ((ulong)'u' << 24) | ((ulong)'e' << 32)) ? (int)WellKnownField.Value : 0,
            _ => 0,
        };
    }

    /// <summary>
    /// The match of a raw (unescaped, plain ASCII or UTF-8) name of <paramref name="length"/> ≤
    /// <see cref="MaxInlineName"/> bytes, given as the 16 bytes loaded at its start (the closing
    /// quote and what follows are masked off here). -1: ask <see cref="FindSlow"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(Vector128<byte> loaded, int length)
    {
        Vector128<byte> name = loaded & ByteMasks.KeepFirst(length);
        int slot = (int)(Mix(name, length, _lowMultiplier, _highMultiplier) >> _shift);
        ref Entry entry = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_slots!), slot);
        return entry.Name == name && entry.Length == length ? entry.Match : _miss;
    }

    /// <summary>The match of any name as it appears between its quotes (escaped or not, any length).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public int FindSlow(ReadOnlySpan<byte> raw, bool escaped)
    {
        // Names are short; a name too long for the buffer cannot be one of the catalog's (≤ 256 bytes).
        Span<byte> buffer = stackalloc byte[256];
        scoped ReadOnlySpan<byte> name = raw;
        if (escaped)
        {
            if (raw.Length > 6 * buffer.Length || !Fields.JsonString.TryUnescape(raw, buffer, out int written))
            {
                return 0;
            }

            name = buffer[..written];
        }

        if (name.Length <= MaxInlineName)
        {
            if (_miss != 0)
            {
                return FindByCompare(name);
            }

            Span<byte> padded = stackalloc byte[Vector128<byte>.Count];
            padded.Clear();
            name.CopyTo(padded);
            return Find(Vector128.Create<byte>(padded), name.Length);
        }

        if (!_hasLongNames)
        {
            return 0;
        }

        int index = _catalog!.IndexOf(name);
        return index < 0 ? 0 : (index + 1) << 8;
    }

    private int FindByCompare(ReadOnlySpan<byte> name)
    {
        int match = 0;
        for (int w = 0; w < WellKnownNames.Length; w++)
        {
            if (name.SequenceEqual(WellKnownNames[w]))
            {
                match = w + 1;
            }
        }

        int index = _catalog!.IndexOf(name);
        return index < 0 ? match : match | ((index + 1) << 8);
    }

    /// <summary>
    /// Two independent multiplies, summed: distinct names collide for a random pair of multipliers
    /// only by chance, so the builder's retries always separate them; the slot is the top bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix(Vector128<byte> name, int length, ulong low, ulong high)
    {
        Vector128<ulong> halves = name.AsUInt64();
        return ((halves.ToScalar() ^ (uint)length) * low) + (halves.GetElement(1) * high);
    }

    private static Entry[] TryPlace(List<(byte[] Name, int Match)> wanted, ulong low, ulong high, int bits)
    {
        var slots = new Entry[1 << bits];
        slots.AsSpan().Fill(new Entry { Length = NoLength });
        foreach ((byte[] bytes, int match) in wanted)
        {
            var padded = new byte[Vector128<byte>.Count];
            bytes.CopyTo(padded, 0);
            Vector128<byte> name = Vector128.Create(padded);
            int slot = (int)(Mix(name, bytes.Length, low, high) >> (64 - bits));
            if (slots[slot].Length != NoLength)
            {
                return [];
            }

            slots[slot] = new Entry { Name = name, Length = bytes.Length, Match = match };
        }

        return slots;
    }

    private struct Entry
    {
        public Vector128<byte> Name;
        public int Length;
        public int Match;
    }
}
