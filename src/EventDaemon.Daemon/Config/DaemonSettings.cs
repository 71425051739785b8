namespace EventDaemon.Daemon.Config;

/// <summary>The <c>[daemon]</c> table, with every default filled in.</summary>
/// <param name="ControlSocket">Absolute path; default from <see cref="DefaultPaths.ControlSocket()"/>.</param>
/// <param name="RingSize">Slots in the ring, a power of two.</param>
/// <param name="ArenaSize">Payload bytes in the arena.</param>
/// <param name="MaxEventBytes">Longest event a source accepts unless it sets its own limit.</param>
/// <param name="ConsumerCpus">CPUs the consumer threads are pinned to; empty = not pinned.</param>
/// <param name="LockMemory"><c>mlock</c> the ring and arena.</param>
/// <param name="StateDir">Absolute path of the journal and checkpoints; default from <see cref="DefaultPaths.StateDirectory()"/>.</param>
/// <param name="ErrorsKept">How many bad-input records <c>ctl errors</c> keeps (a bounded ring of them).</param>
/// <param name="DrainTimeout">How long <c>drain</c> (and SIGTERM) waits for in-flight events before exiting anyway.</param>
/// <param name="FuseChains">Run a stage whose one input is a transform nobody else reads on that
/// transform's thread (one thread per linear chain, not per stage).</param>
/// <param name="IdleHandoff">Let a source thread run a first-level stage itself when it publishes
/// while that stage's thread is parked (no wake-up across cores at moderate rates).</param>
/// <param name="IoThreads">Event-loop threads of each stream source (tcp, unix); 0 = one per CPU.</param>
/// <param name="Http">The HTTP endpoint's address as written (<c>/health</c>, <c>/ready</c>, <c>/metrics</c>); null = no endpoint.</param>
/// <param name="HttpEndPoint">What the endpoint binds: <paramref name="Http"/> resolved when the config was checked.</param>
/// <param name="LogFormat">How log lines are written on stderr: readable text or one JSON object per line.</param>
public sealed record DaemonSettings(
    string ControlSocket,
    int RingSize,
    ByteSize ArenaSize,
    int MaxEventBytes,
    WaitStrategyKind WaitStrategy,
    EquatableArray<int> ConsumerCpus,
    bool LockMemory,
    string StateDir,
    int ErrorsKept,
    Duration DrainTimeout,
    bool FuseChains = true,
    bool IdleHandoff = true,
    int IoThreads = 0,
    HostPort? Http = null,
    System.Net.IPEndPoint? HttpEndPoint = null,
    LogFormat LogFormat = LogFormat.Text)
{
    /// <summary>More event loops than this only add threads: each serves thousands of connections.</summary>
    public const int MaxIoThreads = 64;

    /// <summary>
    /// 65 536 slots of 64 bytes is 4 MiB of ring: at a million events a second, 65 ms of slack for
    /// a slow stage before sources feel backpressure, and small enough to lock without raising
    /// <c>RLIMIT_MEMLOCK</c> far.
    /// </summary>
    public const int DefaultRingSize = 65_536;

    /// <summary>Largest ring accepted: 2^30 slots is 64 GiB of slots alone, beyond any sane deployment.</summary>
    public const int MaxRingSize = 1 << 30;

    /// <summary>The SPEC's 64 KiB: a generous JSON line, and 1/1024 of the default arena.</summary>
    public const int DefaultMaxEventBytes = 65_536;

    /// <summary>Largest single event accepted: 16 MiB, past which a "line" is almost surely a stuck producer.</summary>
    public const int MaxMaxEventBytes = 16 * 1024 * 1024;

    /// <summary>100 records: enough to see a pattern in bad input, few enough to read in a terminal.</summary>
    public const int DefaultErrorsKept = 100;

    /// <summary>
    /// 64 MiB holds the payloads of a full default ring at 1 KiB per event; payloads are usually far
    /// smaller, and the arena being full only means backpressure.
    /// </summary>
    public static ByteSize DefaultArenaSize => ByteSize.FromMiB(64);

    /// <summary>30 s: inside systemd's default 90 s stop timeout, so a drain finishes before SIGKILL.</summary>
    public static Duration DefaultDrainTimeout => Duration.FromSeconds(30);
}
