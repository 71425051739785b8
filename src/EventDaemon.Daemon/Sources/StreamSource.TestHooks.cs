namespace EventDaemon.Daemon.Sources;

/// <summary>Lets a test look at a running source's event loops.</summary>
public sealed partial class StreamSource
{
    /// <summary>The I/O thread at <paramref name="index"/>, once the source has started.</summary>
    internal IoThread IoThreadForTest(int index) => _threads[index];
}
