using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EventDaemon.Events.Codecs.Internal;

/// <summary>
/// How <see cref="JsonEventParser"/> predicts member names: <see cref="MemberOrder"/> for a reader
/// of a stream, <see cref="NoMemberOrder"/> for a line decoded on its own. A struct generic
/// parameter, so each decoder is compiled with its own inlined calls and the unpredicted one has none.
/// </summary>
internal interface IMemberOrder
{
    /// <summary>Called once per line, before any other member: the table lookups come from.</summary>
    void Use(MemberNameTable table);

    /// <summary>
    /// Whether the member name at <paramref name="position"/> is the one remembered there, given
    /// the 16 bytes at the name's start (zero past the line's end); if so, its length (the index of
    /// the closing quote, relative to the start) and its match.
    /// </summary>
    bool TryPredict(int position, Vector128<byte> loaded, out int length, out int match);

    /// <summary>Remembers the plain name of <paramref name="length"/> ≤ 15 bytes found at
    /// <paramref name="position"/> (its quote at <paramref name="length"/> in <paramref name="loaded"/>) and its match.</summary>
    void Learn(int position, Vector128<byte> loaded, int length, int match);
}

/// <summary>No prediction: every name takes the full scan.</summary>
internal struct NoMemberOrder : IMemberOrder
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Use(MemberNameTable table)
    {
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool TryPredict(int position, Vector128<byte> loaded, out int length, out int match)
    {
        length = 0;
        match = 0;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Learn(int position, Vector128<byte> loaded, int length, int match)
    {
    }
}
