using System.Text;
using EventDaemon.Daemon.Sinks.Transports;

namespace EventDaemon.Daemon.Testing;

/// <summary>
/// The sink end of a config test: keeps the JSON lines a stage emits, in memory, so the test
/// compares exactly what a real sink would have written. Opens nothing.
/// </summary>
/// <remarks>A struct over one state object (as every transport is): copies share what was captured.</remarks>
public readonly struct CaptureTransport : ISinkTransport
{
    private readonly Captured _captured;

    public CaptureTransport()
    {
        _captured = new Captured();
    }

    public bool IsReady => true;

    public bool IsBlocked => false;

    public long BlockedSince => 0;

    public long ResentEvents => 0;

    public string Describe() => "capture (eventd test)";

    public void Open()
    {
    }

    public bool TryWrite(ReadOnlySpan<byte> batch, out string? error)
    {
        lock (_captured)
        {
            _captured.Text.Append(Encoding.UTF8.GetString(batch));
        }

        error = null;
        return true;
    }

    public void GiveUp()
    {
    }

    public void Tick(long nowTimestamp)
    {
    }

    public void Close()
    {
    }

    /// <summary>The lines written so far, without their newlines.</summary>
    public List<string> Lines()
    {
        lock (_captured)
        {
            return [.. _captured.Text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)];
        }
    }

    private sealed class Captured
    {
        public StringBuilder Text { get; } = new();
    }
}
