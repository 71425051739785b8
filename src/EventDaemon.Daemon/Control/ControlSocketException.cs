namespace EventDaemon.Daemon.Control;

/// <summary>
/// The control socket could not be set up. The message is one line for the operator, naming the
/// path, the problem and the fix; print it as it is, without a stack trace.
/// </summary>
public sealed class ControlSocketException : Exception
{
    public ControlSocketException(string message)
        : base(message)
    {
    }

    public ControlSocketException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
