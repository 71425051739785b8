using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EventDaemon.Events.Codecs.Internal;

/// <summary>
/// Finds the end of a plain ASCII run inside a JSON string: the next quote, backslash, control
/// byte or non-ASCII byte (which the caller validates as UTF-8).
/// </summary>
/// <remarks>
/// Event strings are short (names, ids, a few words), where a general vectorised search spends
/// more on setup than on searching, and where a byte loop mispredicts its exit once per string.
/// So the first 16 bytes are tested with one 128-bit compare; then up to <see cref="SwarBytes"/>
/// more bytes 16 (or, near the end of the line, 8 in a 64-bit register) at a time; only a string
/// still running after that is handed to the general
/// <see cref="MemoryExtensions.IndexOfAny{T}(ReadOnlySpan{T}, SearchValues{T})"/>.
/// </remarks>
internal static class StringScanner
{
    // Past this many bytes a string is long enough for the vectorised search to pay off.
    private const int SwarBytes = 32;

    private const ulong Ones = 0x0101010101010101UL;
    private const ulong Highs = 0x8080808080808080UL;

    private static readonly SearchValues<byte> Stops = SearchValues.Create(CreateStops());

    /// <summary>Index of the first quote, backslash, byte below 0x20 or byte from 0x80 at or after <paramref name="start"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int IndexOfStop(ReadOnlySpan<byte> s, int start)
    {
        ref byte origin = ref MemoryMarshal.GetReference(s);
        if (Vector128.IsHardwareAccelerated && start + Vector128<byte>.Count <= s.Length)
        {
            // One 16-byte test covers most event strings whole, so the branch below is taken
            // predictably instead of a per-byte loop exit being mispredicted once per string.
            uint mask = StopMask(Vector128.LoadUnsafe(ref origin, (nuint)start));
            if (mask != 0)
            {
                return start + BitOperations.TrailingZeroCount(mask);
            }

            return IndexOfStopLong(s, start + Vector128<byte>.Count);
        }

        return IndexOfStopSwar(s, start);
    }

    /// <summary>
    /// The index of the quote that ends a plain string starting at <paramref name="start"/> when it
    /// lies within 16 bytes and no backslash, control or non-ASCII byte comes before it; otherwise
    /// -1, and the caller scans the general way (<see cref="IndexOfStop"/>).
    /// </summary>
    /// <remarks>
    /// Names and most values of an event are such strings: one load, two masks and a bit test
    /// settle them with no loop and no re-read of the stop byte. A string near the end of the line
    /// is tested in the line's last 16 bytes, its mask shifted to start at <paramref name="start"/>
    /// (bits past the line's end shift out as zeros), so the last member takes the same path.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int IndexOfPlainEnd(ReadOnlySpan<byte> s, int start)
    {
        if (!Vector128.IsHardwareAccelerated || s.Length < Vector128<byte>.Count)
        {
            return -1;
        }

        // In bounds: 0 <= at and at + 16 <= s.Length; start - at is 0..15 when start < s.Length,
        // and a start at or past the end leaves shift >= 16 with no quote bits left below.
        int at = Math.Min(start, s.Length - Vector128<byte>.Count);
        int shift = start - at;
        Vector128<byte> v = Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(s), (nuint)at);
        uint quotes = Vector128.Equals(v, Vector128.Create((byte)'"')).ExtractMostSignificantBits() >> shift;
        uint others = (Vector128.Equals(v, Vector128.Create((byte)'\\'))
            | Vector128.LessThan(v.AsSByte(), Vector128.Create((sbyte)0x20)).AsByte()).ExtractMostSignificantBits() >> shift;

        // quotes - 1 sets exactly the bits below the first quote: none of them may be another stop.
        return quotes != 0 && (others & (quotes - 1)) == 0 ? start + BitOperations.TrailingZeroCount(quotes) : -1;
    }

    /// <summary>Bit i set when byte i is a quote, a backslash, below 0x20 or from 0x80.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint StopMask(Vector128<byte> v)
    {
        // As signed bytes, 0x80..0xFF are negative: one signed "less than 0x20" catches both the
        // control characters and every non-ASCII byte.
        Vector128<byte> stops = Vector128.Equals(v, Vector128.Create((byte)'"'))
            | Vector128.Equals(v, Vector128.Create((byte)'\\'))
            | Vector128.LessThan(v.AsSByte(), Vector128.Create((sbyte)0x20)).AsByte();
        return stops.ExtractMostSignificantBits();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int IndexOfStopLong(ReadOnlySpan<byte> s, int i)
    {
        ref byte origin = ref MemoryMarshal.GetReference(s);
        int limit = Math.Min(s.Length, i + SwarBytes);
        while (i + Vector128<byte>.Count <= limit)
        {
            uint mask = StopMask(Vector128.LoadUnsafe(ref origin, (nuint)i));
            if (mask != 0)
            {
                return i + BitOperations.TrailingZeroCount(mask);
            }

            i += Vector128<byte>.Count;
        }

        return IndexOfStopSwar(s, i);
    }

    private static int IndexOfStopSwar(ReadOnlySpan<byte> s, int start)
    {
        int i = start;
        int swarEnd = Math.Min(s.Length - 8, start + SwarBytes);
        ref byte origin = ref MemoryMarshal.GetReference(s);
        while (i <= swarEnd)
        {
            // In bounds: i + 8 <= s.Length.
            ulong word = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref origin, i));
            ulong hits = Flags(word);
            if (hits != 0)
            {
                // Each detector's lowest flag is exact (borrows only create false flags above a
                // true one), so the lowest flag overall is the first stop byte.
                return i + (BitOperations.TrailingZeroCount(hits) >> 3);
            }

            i += 8;
        }

        return IndexOfStopSlow(s, i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Flags(ulong word)
    {
        ulong quote = word ^ (Ones * '"');
        ulong backslash = word ^ (Ones * '\\');
        ulong isQuote = (quote - Ones) & ~quote;
        ulong isBackslash = (backslash - Ones) & ~backslash;
        ulong isControl = (word - (Ones * 0x20)) & ~word;
        return (isQuote | isBackslash | isControl | word) & Highs;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int IndexOfStopSlow(ReadOnlySpan<byte> s, int i)
    {
        if (i >= s.Length)
        {
            return -1;
        }

        int k = s[i..].IndexOfAny(Stops);
        return k < 0 ? -1 : i + k;
    }

    private static byte[] CreateStops()
    {
        var stops = new List<byte> { (byte)'"', (byte)'\\' };
        for (int b = 0; b < 0x20; b++)
        {
            stops.Add((byte)b);
        }

        for (int b = 0x80; b < 0x100; b++)
        {
            stops.Add((byte)b);
        }

        return [.. stops];
    }
}
