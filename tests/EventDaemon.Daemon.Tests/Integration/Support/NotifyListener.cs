using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace EventDaemon.Daemon.Tests.Integration.Support;

/// <summary>One datagram of the sd_notify protocol as the daemon sent it.</summary>
/// <param name="Index">Position in arrival order, from 0.</param>
/// <param name="ReceivedAt">Stopwatch timestamp of arrival (CLOCK_MONOTONIC on Linux).</param>
/// <param name="Text">The datagram: <c>KEY=value</c> lines.</param>
internal sealed record NotifyMessage(int Index, long ReceivedAt, string Text)
{
    /// <summary>The value of <paramref name="key"/> in this datagram, or null.</summary>
    public string? Get(string key)
    {
        foreach (string line in Text.Split('\n'))
        {
            if (line.StartsWith(key + "=", StringComparison.Ordinal))
            {
                return line[(key.Length + 1)..];
            }
        }

        return null;
    }

    public bool Has(string assignment) => Text.Split('\n').Contains(assignment);
}

/// <summary>
/// Plays systemd's part of <c>sd_notify</c>: a Unix datagram socket the daemon finds through
/// <c>$NOTIFY_SOCKET</c>, bound at a path or at an abstract name (<c>@name</c>). Every datagram is
/// kept, in order, so a test can ask what came after what.
/// </summary>
internal sealed class NotifyListener : IDisposable
{
    private readonly Socket _socket;
    private readonly Thread _thread;
    private readonly List<NotifyMessage> _messages = [];
    private volatile bool _stopping;

    private NotifyListener(Socket socket, string notifySocket)
    {
        _socket = socket;
        NotifySocket = notifySocket;
        _thread = new Thread(Receive) { IsBackground = true, Name = "notify-listener" };
        _thread.Start();
    }

    /// <summary>The value for <c>$NOTIFY_SOCKET</c>.</summary>
    public string NotifySocket { get; }

    /// <summary>Listens at a file-system path.</summary>
    public static NotifyListener AtPath(string path) => Bind(new UnixDomainSocketEndPoint(path), path);

    /// <summary>Listens at an abstract name (no file); <c>$NOTIFY_SOCKET</c> is <c>@name</c>.</summary>
    public static NotifyListener Abstract(string name) => Bind(new UnixDomainSocketEndPoint("\0" + name), "@" + name);

    private static NotifyListener Bind(UnixDomainSocketEndPoint endPoint, string notifySocket)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified)
        {
            // Wakes the receive loop to notice Dispose.
            ReceiveTimeout = 200,
        };
        try
        {
            socket.Bind(endPoint);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new NotifyListener(socket, notifySocket);
    }

    public NotifyMessage[] Messages
    {
        get
        {
            lock (_messages)
            {
                return [.. _messages];
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_messages)
            {
                return _messages.Count;
            }
        }
    }

    /// <summary>The first message at or after <paramref name="fromIndex"/> that matches, waiting for it up to <paramref name="timeout"/>.</summary>
    public NotifyMessage? TryWaitFor(Func<NotifyMessage, bool> match, int fromIndex, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        lock (_messages)
        {
            while (true)
            {
                for (int i = fromIndex; i < _messages.Count; i++)
                {
                    if (match(_messages[i]))
                    {
                        return _messages[i];
                    }
                }

                fromIndex = Math.Max(fromIndex, _messages.Count);
                TimeSpan left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                {
                    return null;
                }

                Monitor.Wait(_messages, left);
            }
        }
    }

    /// <summary>Like <see cref="TryWaitFor"/>, failing the test with <paramref name="what"/> and every message seen.</summary>
    public NotifyMessage WaitFor(string what, Func<NotifyMessage, bool> match, int fromIndex = 0, TimeSpan? timeout = null)
    {
        TimeSpan wait = timeout ?? Eventually.DefaultTimeout;
        return TryWaitFor(match, fromIndex, wait)
            ?? throw new Xunit.Sdk.XunitException($"no {what} on NOTIFY_SOCKET within {wait.TotalSeconds:0} s (after message #{fromIndex}); received:\n{Describe()}");
    }

    public string Describe()
    {
        var text = new StringBuilder();
        foreach (NotifyMessage m in Messages)
        {
            text.Append('#').Append(m.Index).Append(": ").Append(m.Text.Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
        }

        return text.Length == 0 ? "(nothing)" : text.ToString();
    }

    public void Dispose()
    {
        _stopping = true;
        _thread.Join();
        _socket.Dispose();
    }

    private void Receive()
    {
        byte[] buffer = new byte[8192];
        while (!_stopping)
        {
            int n;
            try
            {
                n = _socket.Receive(buffer);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                continue;
            }

            string text = Encoding.UTF8.GetString(buffer, 0, n);
            lock (_messages)
            {
                _messages.Add(new NotifyMessage(_messages.Count, Stopwatch.GetTimestamp(), text));
                Monitor.PulseAll(_messages);
            }
        }
    }
}
