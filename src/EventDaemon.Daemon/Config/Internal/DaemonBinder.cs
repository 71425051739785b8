using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Numerics;

namespace EventDaemon.Daemon.Config.Internal;

/// <summary>Binds <c>[daemon]</c>; an absent table means every default.</summary>
internal static class DaemonBinder
{
    /// <summary>CPU numbers sched_setaffinity accepts with the default cpu_set_t (CPU_SETSIZE = 1024).</summary>
    private const int MaxCpu = 1023;

    private const int MaxErrorsKept = 10_000;

    /// <summary>Below 64 KiB the arena would refuse ordinary events at the default max_event_bytes.</summary>
    private static readonly ByteSize MinArena = new(64 * ByteSize.KiB);

    private static readonly ByteSize MaxArena = new(ByteSize.TiB);

    public static DaemonSettings? Bind(TomlTable? table, BindContext context)
    {
        int errorsBefore = context.Diagnostics.ErrorCount;
        var reader = new TableReader(context, table ?? new TomlTable(context.Start, TableOrigin.Implicit), "[daemon]");

        string? controlSocket = reader.Path("control_socket");
        if (controlSocket is not null)
        {
            context.CheckSocketPath("control_socket", controlSocket, reader.Entry("control_socket")!.Value.Position);
        }

        int ringSize = RingSize(reader) ?? DaemonSettings.DefaultRingSize;
        ByteSize? arena = reader.Size("arena_size", MinArena, MaxArena);
        ByteSize? maxEvent = reader.Size("max_event_bytes", new ByteSize(1), new ByteSize(DaemonSettings.MaxMaxEventBytes));
        if (arena is { } a && maxEvent is { } m && m > a)
        {
            context.Error(reader.Entry("max_event_bytes")!.Value.Position, $"max_event_bytes: {m} does not fit in arena_size ({a})");
        }
        else if (arena is { } small && maxEvent is null && small.Bytes < DaemonSettings.DefaultMaxEventBytes)
        {
            context.Error(reader.Entry("arena_size")!.Value.Position, $"arena_size: {small} is smaller than the default max_event_bytes ({DaemonSettings.DefaultMaxEventBytes})");
        }

        WaitStrategyKind waitStrategy = reader.Choice("wait_strategy", ConfigNames.WaitStrategies) ?? WaitStrategyKind.Adaptive;
        EquatableArray<int> cpus = ConsumerCpus(reader);
        bool lockMemory = reader.Boolean("lock_memory") ?? false;
        string? stateDir = reader.Path("state_dir");
        if (stateDir is not null && context.CheckMachine)
        {
            // Only a state_dir the config sets: the default is created where the journal opens.
            MachineChecks.StateDirectory(context, stateDir, reader.Entry("state_dir")!.Value.Position);
        }

        if (context.CheckMachine && context.Diagnostics.ErrorCount == errorsBefore)
        {
            long arenaBytes = (long)BitOperations.RoundUpToPowerOf2((ulong)Math.Max(4096, (arena ?? DaemonSettings.DefaultArenaSize).Bytes));
            string key = arena is not null ? "arena_size" : "ring_size";
            ConfigPosition at = reader.Entry(key)?.Value.Position ?? context.Start;
            MachineChecks.Memory(context, (long)ringSize * Events.EventSlot.Size, arenaBytes, at, key);
        }

        int errorsKept = reader.Int32("errors_kept", 1, MaxErrorsKept) ?? DaemonSettings.DefaultErrorsKept;
        Duration drainTimeout = reader.Duration("drain_timeout", new Duration(1)) ?? DaemonSettings.DefaultDrainTimeout;
        bool fuseChains = reader.Boolean("fuse_chains") ?? true;
        bool idleHandoff = reader.Boolean("idle_handoff") ?? true;
        int ioThreads = reader.Int32("io_threads", 1, DaemonSettings.MaxIoThreads) ?? 0;
        LogFormat logFormat = reader.Choice("log_format", ConfigNames.LogFormats) ?? LogFormat.Text;

        // Resolved and checked against the machine's interfaces here, as a source's address is, so
        // validate refuses what run could not bind; only a port in use is left for the start.
        HostPort? http = reader.Address("http", allowPortZero: true);
        IPEndPoint? httpEndPoint = http is { } listen
            ? ListenAddress.Resolve(context, "http", listen, reader.Entry("http")!.Value.Position, SocketType.Stream)
            : null;
        reader.ReportUnknownKeys();

        if (context.Diagnostics.ErrorCount != errorsBefore)
        {
            return null;
        }

        return new DaemonSettings(
            controlSocket ?? DefaultPaths.ControlSocket(),
            ringSize,
            arena ?? DaemonSettings.DefaultArenaSize,
            (int)(maxEvent?.Bytes ?? DaemonSettings.DefaultMaxEventBytes),
            waitStrategy,
            cpus,
            lockMemory,
            stateDir ?? DefaultPaths.StateDirectory(),
            errorsKept,
            drainTimeout,
            fuseChains,
            idleHandoff,
            ioThreads,
            httpEndPoint is null ? null : http,
            httpEndPoint,
            logFormat);
    }

    private static int? RingSize(TableReader reader)
    {
        long? value = reader.Integer("ring_size", 2, DaemonSettings.MaxRingSize);
        if (value is not { } size)
        {
            return null;
        }

        if (!BitOperations.IsPow2(size))
        {
            long lower = (long)BitOperations.RoundUpToPowerOf2((ulong)size) / 2;
            reader.Context.Error(
                reader.Entry("ring_size")!.Value.Position,
                $"ring_size: {size.ToString(CultureInfo.InvariantCulture)} is not a power of two (nearest: {lower.ToString(CultureInfo.InvariantCulture)} or {(lower * 2).ToString(CultureInfo.InvariantCulture)})");
            return null;
        }

        return (int)size;
    }

    private static EquatableArray<int> ConsumerCpus(TableReader reader)
    {
        List<(long Value, ConfigPosition Position)>? items = reader.IntegerArray("consumer_cpus");
        if (items is null)
        {
            return EquatableArray<int>.Empty;
        }

        bool valid = true;
        for (int i = 0; i < items.Count; i++)
        {
            if (items[i].Value is < 0 or > MaxCpu)
            {
                reader.Context.Error(items[i].Position, $"consumer_cpus[{i}]: CPU {items[i].Value.ToString(CultureInfo.InvariantCulture)} is out of range (0-{MaxCpu})");
                valid = false;
            }
        }

        valid &= reader.CheckDistinct("consumer_cpus", items, cpu => $"CPU {cpu.ToString(CultureInfo.InvariantCulture)}");
        return valid ? new EquatableArray<int>(items.Select(item => (int)item.Value)) : EquatableArray<int>.Empty;
    }
}
