namespace EventDaemon.Ring.Waiting;

/// <summary>What tests see of a lease.</summary>
internal sealed partial class IdleHandoff
{
    /// <summary>True while the stage's thread sleeps with the lease lent (producers may take it).</summary>
    internal bool IsLent => Volatile.Read(ref _owner) == Lent;
}
