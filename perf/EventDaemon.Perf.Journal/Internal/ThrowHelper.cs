using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using EventDaemon.Perf.Journal.Interop;

namespace EventDaemon.Perf.Journal.Internal;

/// <summary>Throwing lives here so that the writer and syncer loops stay small enough to inline.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void IoFailed(string call, int errno) =>
        throw new IOException($"{call} failed: {Libc.ErrorText(errno)} (errno {errno})");

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void SegmentFull(long offset, long capacity) =>
        throw new InvalidOperationException($"a group at offset {offset} does not fit a segment of {capacity} bytes");
}
