namespace EventDaemon.Daemon.Tests.Integration.Support;

/// <summary>
/// The files and ports of one daemon under test: a private directory (short, so Unix socket paths
/// stay under 108 bytes; mode 0755, so another uid can reach a socket in it) and loopback ports
/// by name, each chosen on first use and the same afterwards (a rewritten config keeps them).
/// </summary>
internal sealed class DaemonLayout
{
    private readonly Dictionary<string, int> _ports = new(StringComparer.Ordinal);

    public DaemonLayout(string directory)
    {
        Directory = directory;
    }

    public string Directory { get; }

    public string ConfigPath => File("eventd.toml");

    public string ControlSocket => File("ctl.sock");

    public string File(string name) => Path.Combine(Directory, name);

    public int Port(string name)
    {
        lock (_ports)
        {
            if (!_ports.TryGetValue(name, out int port))
            {
                port = TestPorts.Next();
                _ports[name] = port;
            }

            return port;
        }
    }

    /// <summary><c>127.0.0.1:PORT</c> of the named port.</summary>
    public string Address(string name) => $"127.0.0.1:{Port(name)}";
}
