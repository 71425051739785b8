using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EventDaemon.Ring;

/// <summary>
/// A 64-bit sequence counter alone on its cache lines. Producers publish through one, each
/// consumer owns one, and everyone else only reads them.
/// </summary>
public sealed class Sequence
{
    public const long InitialValue = -1;

    // Mutable struct: the value must be written in place, so the field is not readonly.
    private PaddedLong _value;

    public Sequence(long initial = InitialValue) => _value.Value = initial;

    /// <summary>The current value.</summary>
    /// <remarks>Acquire: reads after this one see every write made before the matching <see cref="SetValue"/>.</remarks>
    public long Value
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref _value.Value);
    }

    /// <summary>Publishes a new value.</summary>
    /// <remarks>Release: every write before this one is visible to a reader that sees the new value.
    /// No store-load fence: a later read may still pass this write.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetValue(long value) => Volatile.Write(ref _value.Value, value);

    /// <summary>Publishes a new value with a full fence.</summary>
    /// <remarks>Sequentially consistent: no later read moves before this write (store-load ordering),
    /// as needed before checking for parked waiters.</remarks>
    public void SetValueVolatile(long value) => Interlocked.Exchange(ref _value.Value, value);

    /// <summary>Atomically replaces <paramref name="expected"/> with <paramref name="value"/>.</summary>
    /// <remarks>Full fence, success or not.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool CompareAndSet(long expected, long value) =>
        Interlocked.CompareExchange(ref _value.Value, value, expected) == expected;

    /// <summary>Atomically adds and returns the new value.</summary>
    /// <remarks>Full fence.</remarks>
    public long AddAndGet(long increment) => Interlocked.Add(ref _value.Value, increment);

    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The smallest value among <paramref name="sequences"/>, or <paramref name="minimum"/> if smaller.</summary>
    /// <remarks>Each read is an acquire; the result is a lower bound at the time of the last read.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Minimum(Sequence[] sequences, long minimum = long.MaxValue)
    {
        for (int i = 0; i < sequences.Length; i++)
        {
            long value = sequences[i].Value;
            if (value < minimum)
            {
                minimum = value;
            }
        }

        return minimum;
    }
}

/// <summary>
/// A long with 56 bytes before it and 64 after: any 64-byte line that holds the value holds
/// nothing else, so writers of neighbouring objects never invalidate it (false sharing).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct PaddedLong
{
    // padding: bytes 0..55 keep the previous object's data off this line.
    [FieldOffset(56)] public long Value;
    // padding: bytes 64..127 keep the next object's data off this line (and its prefetch pair).
}
