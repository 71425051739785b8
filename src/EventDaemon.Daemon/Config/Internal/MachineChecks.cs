using System.Globalization;
using EventDaemon.Daemon.Interop;
using EventDaemon.Stages.Transforms;

namespace EventDaemon.Daemon.Config.Internal;

/// <summary>
/// What <c>run</c> would find wrong on this machine, checked when a config file is validated, run
/// or reloaded (<see cref="BindContext.CheckMachine"/>), each error at the value it is about: so
/// <c>validate</c> says ok only for a config that starts.
/// </summary>
/// <remarks>
/// Nothing here writes: a path that does not exist yet is judged by its nearest existing
/// directory (run creates the rest), and writability by <c>access(2)</c> for the user running the
/// check, which is the daemon's user when the daemon checks it (validate as that user to be sure).
/// </remarks>
internal static class MachineChecks
{
    private const int WriteAndSearch = 2 | 1;

    /// <summary>Loads the table exactly as the enrich stage will (same parser, same limits).</summary>
    public static void EnrichTable(BindContext context, string table, string? keyColumn, IReadOnlyList<string> columns, ConfigPosition at)
    {
        try
        {
            _ = Stages.Transforms.EnrichTable.Load(table, keyColumn, columns);
        }
        catch (EnrichTableException e)
        {
            context.Error(at, $"table: {e.Message}");
        }
    }

    /// <summary>A file sink's path: not a directory, and in a directory the daemon may create files in (or create).</summary>
    public static void FileSinkPath(BindContext context, string path, ConfigPosition at)
    {
        if (IsUnder(path, "/proc") || IsUnder(path, "/sys"))
        {
            context.Error(at, $"path: \"{path}\" is on a pseudo file system; write events to a file on disk");
            return;
        }

        if (Directory.Exists(path))
        {
            context.Error(at, $"path: \"{path}\" is a directory; name a file in it, e.g. \"{Path.Combine(path, "events.jsonl")}\"");
            return;
        }

        if (File.Exists(path))
        {
            if (!MayAccess(path, 2))
            {
                context.Error(at, $"path: \"{path}\" exists and this user ({UserName()}) may not write it");
            }

            return;
        }

        WritableDirectory(context, "path", Path.GetDirectoryName(path) ?? "/", $"the file \"{path}\"", at);
    }

    /// <summary>A unix source's socket: in a directory the daemon may create it in (run creates missing directories).</summary>
    public static void UnixSocketPath(BindContext context, string path, ConfigPosition at)
    {
        if (IsPseudo(path))
        {
            context.Error(at, $"path: \"{path}\" is on a pseudo file system; put the socket under /run or /tmp");
            return;
        }

        WritableDirectory(context, "path", Path.GetDirectoryName(path) ?? "/", $"the socket \"{path}\"", at);
    }

    /// <summary>
    /// An explicitly set <c>state_dir</c>: a directory the daemon may write, or one it may create.
    /// Pseudo file systems (<c>/proc</c>, <c>/sys</c>) are refused outright: root may "write" there
    /// as far as access(2) says, but no journal can live there.
    /// </summary>
    public static void StateDirectory(BindContext context, string path, ConfigPosition at)
    {
        string full = Path.TrimEndingDirectorySeparator(path);
        if (IsPseudo(full))
        {
            context.Error(at, $"state_dir: \"{path}\" is on a pseudo file system; choose a directory on disk, e.g. \"{DefaultPaths.SystemStateDirectory}\"");
            return;
        }

        if (File.Exists(full))
        {
            context.Error(at, $"state_dir: \"{path}\" is a file, not a directory");
            return;
        }

        WritableDirectory(context, "state_dir", full, "the state directory", at);
    }

    /// <summary>
    /// The journal's directory: where <c>run</c> creates it (with its parents) and writes segments,
    /// so a directory it may write, or one it may create; never on a pseudo file system.
    /// </summary>
    public static void JournalDirectory(BindContext context, string path, ConfigPosition at)
    {
        string full = Path.TrimEndingDirectorySeparator(path);
        if (IsPseudo(full))
        {
            context.Error(at, $"dir: the journal \"{path}\" would be on a pseudo file system; set state_dir (or dir) to a directory on disk");
            return;
        }

        if (File.Exists(full))
        {
            context.Error(at, $"dir: the journal \"{path}\" is a file, not a directory");
            return;
        }

        WritableDirectory(context, "dir", full, "the journal's directory", at);
    }

    /// <summary>
    /// The ring's slots and the arena are mapped (and pre-faulted, and maybe locked) at start: their
    /// sum must fit in this machine's memory, or its cgroup's limit when one is set (systemd
    /// <c>MemoryMax</c>). A config for a bigger machine is validated there.
    /// </summary>
    public static void Memory(BindContext context, long ringBytes, long arenaBytes, ConfigPosition at, string key)
    {
        (long limit, string what) = MemoryLimit();
        if (limit <= 0 || ringBytes + arenaBytes <= limit)
        {
            return;
        }

        context.Error(at, string.Create(CultureInfo.InvariantCulture,
            $"{key}: the ring ({Gib(ringBytes)}) and the arena ({Gib(arenaBytes)}) need more than {what}, {Gib(limit)}; make them smaller"));
    }

    private static void WritableDirectory(BindContext context, string key, string directory, string what, ConfigPosition at)
    {
        string existing = directory;
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing))
            {
                context.Error(at, $"{key}: \"{existing}\" is a file, so {what} cannot be created under it");
                return;
            }

            existing = Path.GetDirectoryName(existing) ?? "/";
        }

        if (!MayAccess(existing, WriteAndSearch))
        {
            string verb = existing == directory ? "write in" : "create directories in";
            context.Error(at, $"{key}: this user ({UserName()}) may not {verb} \"{existing}\", so {what} cannot be {(existing == directory ? "written" : "created")}; choose another path or give the daemon's user access");
        }
    }

    private static string Gib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)ByteSize.GiB:0.###} GiB");

    private static bool IsPseudo(string path) => IsUnder(path, "/proc") || IsUnder(path, "/sys") || IsUnder(path, "/dev");

    private static bool IsUnder(string path, string root) =>
        path == root || path.StartsWith(root + "/", StringComparison.Ordinal);

    private static bool MayAccess(string path, int mode) => Libc.access(path, mode) == 0;

    private static string UserName() => $"uid {Libc.getuid().ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The cgroup's memory.max when it is a number, else MemTotal; 0 when neither can be read.</summary>
    private static (long Bytes, string What) MemoryLimit()
    {
        long total = MemTotal();
        long cgroup = CgroupMemoryMax();
        return cgroup > 0 && (total == 0 || cgroup < total)
            ? (cgroup, "this service's memory limit (cgroup memory.max)")
            : (total, "this machine's memory (MemTotal)");
    }

    private static long MemTotal()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                {
                    string kib = line["MemTotal:".Length..].Replace("kB", "", StringComparison.Ordinal).Trim();
                    return long.TryParse(kib, NumberStyles.None, CultureInfo.InvariantCulture, out long value) ? value * 1024 : 0;
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }

    private static long CgroupMemoryMax()
    {
        try
        {
            // cgroup v2: one line "0::/path".
            string? line = File.ReadLines("/proc/self/cgroup").FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal));
            if (line is null)
            {
                return 0;
            }

            string file = "/sys/fs/cgroup" + line[3..].TrimEnd('/') + "/memory.max";
            string text = File.Exists(file) ? File.ReadAllText(file).Trim() : "max";
            return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value) ? value : 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
