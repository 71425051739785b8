using EventDaemon.Daemon.Interop;

namespace EventDaemon.Daemon.Config;

/// <summary>
/// Where the daemon puts its control socket and state when the config does not say. The client
/// commands (<c>eventd stats</c>, <c>eventd ctl</c>) use the same rules, so a daemon started with
/// defaults is found by the same user, in the same environment, without flags.
/// </summary>
public static class DefaultPaths
{
    public const string SocketFileName = "eventd.sock";

    /// <summary>The directory name used under <c>$XDG_RUNTIME_DIR</c> and <c>$XDG_STATE_HOME</c>.</summary>
    public const string ApplicationDirectory = "eventd";

    /// <summary>Where a root daemon keeps state outside systemd, as the FHS places it.</summary>
    public const string SystemStateDirectory = "/var/lib/eventd";

    /// <summary>The real user id of this process.</summary>
    public static uint CurrentUserId => Libc.getuid();

    /// <summary>
    /// <c>$RUNTIME_DIRECTORY/eventd.sock</c> under a systemd unit with <c>RuntimeDirectory=</c>;
    /// else <c>$XDG_RUNTIME_DIR/eventd/eventd.sock</c> (a per-user tmpfs that only that user can
    /// enter); else <c>/tmp/eventd-UID/eventd.sock</c>, per user so that two users do not collide.
    /// </summary>
    public static string ControlSocket() => ControlSocket(Environment.GetEnvironmentVariable, CurrentUserId);

    /// <summary><see cref="ControlSocket()"/> for a given environment, for tests and for clients explaining where they looked.</summary>
    public static string ControlSocket(Func<string, string?> environment, uint uid)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (FirstAbsolute(environment("RUNTIME_DIRECTORY")) is { } runtime)
        {
            return Path.Combine(runtime, SocketFileName);
        }

        if (FirstAbsolute(environment("XDG_RUNTIME_DIR")) is { } xdg)
        {
            return Path.Combine(xdg, ApplicationDirectory, SocketFileName);
        }

        return Path.Combine(PerUserTemp(uid), SocketFileName);
    }

    /// <summary>
    /// <c>$STATE_DIRECTORY</c> under a systemd unit with <c>StateDirectory=</c>; else
    /// <c>/var/lib/eventd</c> for root; else <c>$XDG_STATE_HOME/eventd</c>, else
    /// <c>~/.local/state/eventd</c> (the XDG default); else <c>/tmp/eventd-UID/state</c>.
    /// </summary>
    public static string StateDirectory() => StateDirectory(Environment.GetEnvironmentVariable, CurrentUserId);

    public static string StateDirectory(Func<string, string?> environment, uint uid)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (FirstAbsolute(environment("STATE_DIRECTORY")) is { } state)
        {
            return state;
        }

        if (uid == 0)
        {
            return SystemStateDirectory;
        }

        if (FirstAbsolute(environment("XDG_STATE_HOME")) is { } xdg)
        {
            return Path.Combine(xdg, ApplicationDirectory);
        }

        if (FirstAbsolute(environment("HOME")) is { } home)
        {
            return Path.Combine(home, ".local", "state", ApplicationDirectory);
        }

        return Path.Combine(PerUserTemp(uid), "state");
    }

    /// <summary>
    /// <c>/tmp/eventd-UID</c>, the last resort for a user without a runtime directory. The daemon
    /// creates it with mode 0700 and refuses one that user does not own or others can write:
    /// anyone can create that name in <c>/tmp</c> first.
    /// </summary>
    public static string PerUserTempDirectory(uint uid) => $"/tmp/eventd-{uid.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    private static string PerUserTemp(uint uid) => PerUserTempDirectory(uid);

    /// <summary>
    /// systemd joins several directories with ':' when a unit lists more than one; the XDG spec
    /// says a relative value must be ignored. Either way the first absolute entry is the one.
    /// </summary>
    private static string? FirstAbsolute(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        foreach (string part in value.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            if (Path.IsPathRooted(part))
            {
                return part;
            }
        }

        return null;
    }
}
