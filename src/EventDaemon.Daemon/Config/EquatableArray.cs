using System.Collections;
using System.Runtime.CompilerServices;

namespace EventDaemon.Daemon.Config;

/// <summary>
/// An immutable array that compares by its elements, so config records holding lists (inputs,
/// metrics, CPUs) compare by value: two loads of the same file give equal models, and a reload can
/// tell what changed.
/// </summary>
[CollectionBuilder(typeof(EquatableArray), nameof(EquatableArray.Create))]
public readonly struct EquatableArray<T> : IEquatable<EquatableArray<T>>, IReadOnlyList<T>
{
    private readonly T[]? _items;

    /// <summary>Copies <paramref name="items"/>.</summary>
    public EquatableArray(IEnumerable<T> items)
        : this((items ?? throw new ArgumentNullException(nameof(items))).ToArray())
    {
    }

    private EquatableArray(T[] items) => _items = items;

    /// <summary>Takes ownership of <paramref name="items"/> without copying; the caller must not change it afterwards.</summary>
    internal static EquatableArray<T> Wrap(T[] items) => new(items);

    public static EquatableArray<T> Empty => default;

    public int Count => _items?.Length ?? 0;

    public bool IsEmpty => Count == 0;

    public T this[int index] => (_items ?? [])[index];

    public ReadOnlySpan<T> AsSpan() => _items;

    public bool Contains(T item) => _items is not null && Array.IndexOf(_items, item) >= 0;

    public bool Equals(EquatableArray<T> other) => AsSpan().SequenceEqual(other.AsSpan(), EqualityComparer<T>.Default);

    public override bool Equals(object? obj) => obj is EquatableArray<T> other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (T item in AsSpan())
        {
            hash.Add(item);
        }

        return hash.ToHashCode();
    }

    public static bool operator ==(EquatableArray<T> left, EquatableArray<T> right) => left.Equals(right);

    public static bool operator !=(EquatableArray<T> left, EquatableArray<T> right) => !left.Equals(right);

    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)(_items ?? [])).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => "[" + string.Join(", ", _items ?? []) + "]";
}

/// <summary>Builds <see cref="EquatableArray{T}"/> from collection expressions: <c>EquatableArray&lt;string&gt; inputs = ["in"];</c>.</summary>
public static class EquatableArray
{
    public static EquatableArray<T> Create<T>(ReadOnlySpan<T> items) => EquatableArray<T>.Wrap(items.ToArray());
}
