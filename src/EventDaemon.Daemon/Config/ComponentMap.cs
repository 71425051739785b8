using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace EventDaemon.Daemon.Config;

/// <summary>
/// Components of one kind by name, enumerated in the order the file declares them (the order the
/// rendered config and the topology's tie-breaks follow). Equality ignores that order: two files
/// that declare the same components in another order configure the same daemon.
/// </summary>
public sealed class ComponentMap<T> : IReadOnlyDictionary<string, T>, IEquatable<ComponentMap<T>>
    where T : ComponentConfig
{
    private readonly T[] _ordered;
    private readonly Dictionary<string, T> _byName;

    public ComponentMap(IEnumerable<T> components)
    {
        ArgumentNullException.ThrowIfNull(components);
        _ordered = [.. components];
        _byName = new Dictionary<string, T>(_ordered.Length, StringComparer.Ordinal);
        foreach (T component in _ordered)
        {
            if (!_byName.TryAdd(component.Name, component))
            {
                throw new ArgumentException($"duplicate component name '{component.Name}'", nameof(components));
            }
        }
    }

    public static ComponentMap<T> Empty { get; } = new([]);

    public int Count => _ordered.Length;

    /// <summary>In declaration order.</summary>
    public IReadOnlyList<T> Ordered => _ordered;

    public IEnumerable<string> Keys => _ordered.Select(c => c.Name);

    public IEnumerable<T> Values => _ordered;

    public T this[string key] => _byName[key];

    public bool ContainsKey(string key) => _byName.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out T value) => _byName.TryGetValue(key, out value);

    public IEnumerator<KeyValuePair<string, T>> GetEnumerator() =>
        _ordered.Select(c => new KeyValuePair<string, T>(c.Name, c)).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public bool Equals(ComponentMap<T>? other)
    {
        if (other is null || other.Count != Count)
        {
            return false;
        }

        foreach (T component in _ordered)
        {
            if (!other._byName.TryGetValue(component.Name, out T? theirs) || !component.Equals(theirs))
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => Equals(obj as ComponentMap<T>);

    public override int GetHashCode()
    {
        int hash = Count;
        foreach (T component in _ordered)
        {
            hash ^= component.GetHashCode(); // order-insensitive, like Equals
        }

        return hash;
    }
}
