namespace EventDaemon.Daemon.Nats;

/// <summary>
/// Receives the messages (<c>MSG</c> and <c>HMSG</c>) that <see cref="NatsConnection.Poll{THandler}"/>
/// parses. A struct type argument, so the call is devirtualised; the spans point into the
/// connection's receive buffer and are valid only during the call.
/// </summary>
public interface INatsMessageHandler
{
    /// <param name="subject">The subject the message was published to.</param>
    /// <param name="sid">The subscription it matched.</param>
    /// <param name="replyTo">Empty when the message has none.</param>
    /// <param name="headers">The raw header block (<c>NATS/1.0 …\r\n…\r\n\r\n</c>); empty for <c>MSG</c>.</param>
    /// <param name="payload">The body.</param>
    void OnMessage(ReadOnlySpan<byte> subject, int sid, ReadOnlySpan<byte> replyTo, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload);
}
