namespace EventDaemon.Daemon.Http;

/// <summary>The HTTP endpoint cannot listen; the message is one line for the operator.</summary>
public sealed class HttpListenException : Exception
{
    public HttpListenException(string message)
        : base(message)
    {
    }

    public HttpListenException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
