using System.Net.Sockets;
using System.Text;

namespace EventDaemon.Daemon.Tests.Integration.Support;

/// <summary>
/// Steady load on a tcp source until disposed: a thread that sends the same batch of JSON lines
/// again and again on one connection, a batch every <see cref="Pace"/>: enough for rates and
/// counters to move, without taking the cores other tests (and the daemon under test) need.
/// </summary>
internal sealed class Traffic : IDisposable
{
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(5);

    private readonly Socket _socket;
    private readonly Thread _thread;
    private readonly byte[] _batch;
    private volatile bool _stop;

    private Traffic(int port, string lines)
    {
        _batch = Encoding.UTF8.GetBytes(lines);
        _socket = TestSockets.ConnectTcp(port);
        _thread = new Thread(Send) { IsBackground = true, Name = "test-traffic" };
        _thread.Start();
    }

    /// <summary>Batches sent so far.</summary>
    public long Batches { get; private set; }

    /// <summary>Starts sending <paramref name="lines"/> (whole lines, each ending in a line feed) over and over.</summary>
    public static Traffic Start(int port, string lines) => new(port, lines);

    public void Dispose()
    {
        _stop = true;
        _thread.Join(TimeSpan.FromSeconds(30));
        _socket.Dispose();
    }

    private void Send()
    {
        try
        {
            while (!_stop)
            {
                TestSockets.SendAll(_socket, _batch);
                Batches++;
                Thread.Sleep(Pace);
            }
        }
        catch (SocketException)
        {
            // The daemon went away (a test that stops it): the load ends with it.
        }
    }
}
