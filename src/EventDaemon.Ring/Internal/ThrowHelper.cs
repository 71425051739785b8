using System.Diagnostics.CodeAnalysis;

namespace EventDaemon.Ring.Internal;

/// <summary>Throwing lives here so that callers' fast paths stay small enough to inline.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ArgumentOutOfRange(string paramName, string message) =>
        throw new ArgumentOutOfRangeException(paramName, message);

    [DoesNotReturn]
    public static void InvalidOperation(string message) => throw new InvalidOperationException(message);

    [DoesNotReturn]
    public static void OutOfMemory(string message) => throw new InsufficientMemoryException(message);
}
