using EventDaemon.Ring.Waiting;

namespace EventDaemon.Ring.Sequencing;

/// <summary>What the graph does to a stage before it starts, and what producers may do with it while
/// its thread is parked (run it on their own thread).</summary>
internal interface IIdleStage
{
    /// <summary>Gives the stage's wait strategy what it needs to know. Only before it starts.</summary>
    void ConfigureWait(in WaitContext context);

    /// <summary>Lets producers run the stage while its thread is parked. Only before it starts.</summary>
    void EnableIdleHandoff();

    /// <summary>Runs what is published and not yet processed, if the stage is idle; otherwise
    /// makes sure its own thread will.</summary>
    void RunIfIdle();

    /// <summary>Wakes the stage's thread if it sleeps lent to producers (a publish that will not
    /// be followed by <see cref="RunIfIdle"/>).</summary>
    void Wake();
}
