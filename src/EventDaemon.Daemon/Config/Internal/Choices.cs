namespace EventDaemon.Daemon.Config.Internal;

/// <summary>The spellings of one enumerated setting, both ways, without reflection over the enum.</summary>
internal sealed class Choices<T>(params (string Name, T Value)[] items)
    where T : struct, Enum
{
    public IEnumerable<string> Names => items.Select(i => i.Name);

    /// <summary>"a, b, c" for messages.</summary>
    public string List => string.Join(", ", Names);

    public bool TryParse(string text, out T value)
    {
        foreach ((string name, T candidate) in items)
        {
            if (name == text)
            {
                value = candidate;
                return true;
            }
        }

        value = default;
        return false;
    }

    public string NameOf(T value)
    {
        foreach ((string name, T candidate) in items)
        {
            if (EqualityComparer<T>.Default.Equals(candidate, value))
            {
                return name;
            }
        }

        throw new ArgumentOutOfRangeException(nameof(value), value, "no config spelling");
    }
}
