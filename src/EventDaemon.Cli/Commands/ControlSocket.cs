using EventDaemon.Daemon.Config;

namespace EventDaemon.Cli.Commands;

/// <summary>Which control socket a client command talks to.</summary>
internal static class ControlSocket
{
    /// <summary>
    /// <paramref name="given"/>; else the socket a daemon started with defaults by this user listens
    /// on; failing that, the one a systemd-run daemon uses (RuntimeDirectory=eventd), which a user
    /// shell cannot derive from its environment.
    /// </summary>
    public static string Resolve(string? given)
    {
        if (given is not null)
        {
            return given;
        }

        string own = DefaultPaths.ControlSocket();
        const string systemd = "/run/eventd/eventd.sock";
        return !File.Exists(own) && File.Exists(systemd) ? systemd : own;
    }
}
