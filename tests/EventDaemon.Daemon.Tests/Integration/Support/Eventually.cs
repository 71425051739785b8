namespace EventDaemon.Daemon.Tests.Integration.Support;

/// <summary>Waits on a condition with a deadline, never a fixed sleep: the deadline only bounds a failure.</summary>
internal static class Eventually
{
    /// <summary>Generous: on a loaded 2-core machine a daemon may be slow, and a pass costs only what it takes.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(25);

    /// <summary>Polls until <paramref name="condition"/> holds; fails with <paramref name="describe"/> (read at the deadline) otherwise.</summary>
    public static void True(Func<bool> condition, Func<string> describe, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (!condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                Xunit.Assert.Fail($"not within {(timeout ?? DefaultTimeout).TotalSeconds:0.#} s: {describe()}");
            }

            Thread.Sleep(PollInterval);
        }
    }

    /// <summary>Polls <paramref name="read"/> until its value satisfies <paramref name="accept"/>, and returns that value.</summary>
    public static T Value<T>(Func<T> read, Func<T, bool> accept, Func<T, string> describe, TimeSpan? timeout = null)
    {
        T last = read();
        True(() => accept(last = read()), () => describe(last), timeout);
        return last;
    }
}
