using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EventDaemon.Events.Codecs.Internal;

/// <summary>Vector masks that keep the first n bytes of 16: one load from a constant, no shifts or branches.</summary>
internal static class ByteMasks
{
    // 16 bytes of 0xFF then 16 of 0: the 16 bytes at (16 - n) keep a vector's first n bytes.
    private static ReadOnlySpan<byte> Table =>
    [
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    /// <summary>All ones in the first <paramref name="count"/> (0–16) bytes, zero after.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> KeepFirst(int count) =>
        Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(Table), (nuint)(Vector128<byte>.Count - count));
}
