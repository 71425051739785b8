namespace EventDaemon.Daemon.Config;

public enum ComponentKind
{
    Source,
    Transform,
    Sink,
}
