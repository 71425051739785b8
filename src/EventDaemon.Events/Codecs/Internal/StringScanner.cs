using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EventDaemon.Events.Codecs.Internal;

/// <summary>
/// Finds the end of a plain ASCII run inside a JSON string: the next quote, backslash, control
/// byte or non-ASCII byte (which the caller validates as UTF-8).
/// </summary>
/// <remarks>
/// Event strings are short (names, ids, a few words), where a vectorised search spends more on
/// setup than on searching. So the first bytes are tested eight at a time in a 64-bit register
/// (SWAR), and only a string still running after <see cref="SwarBytes"/> bytes is handed to the
/// vectorised <see cref="MemoryExtensions.IndexOfAny{T}(ReadOnlySpan{T}, SearchValues{T})"/>.
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
