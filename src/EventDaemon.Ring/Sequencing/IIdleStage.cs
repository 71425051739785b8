namespace EventDaemon.Ring.Sequencing;

/// <summary>A stage producers may run on their own thread while its thread is parked.</summary>
internal interface IIdleStage
{
    /// <summary>Lets producers run the stage while its thread is parked. Only before it starts.</summary>
    void EnableIdleHandoff();

    /// <summary>Runs what is published and not yet processed, if the stage is idle; otherwise
    /// makes sure its own thread will.</summary>
    void RunIfIdle();

    /// <summary>Wakes the stage's thread if it sleeps lent to producers (a publish that will not
    /// be followed by <see cref="RunIfIdle"/>).</summary>
    void Wake();
}
