namespace EventDaemon.Daemon.Config;

/// <summary>Which part of an event a transform reads: <c>type</c>, <c>key</c> or a top-level field <c>.name</c>.</summary>
public enum FieldRefKind
{
    Type,
    Key,
    Field,
}
