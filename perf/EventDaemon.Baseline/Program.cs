using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace EventDaemon.Baseline;

/// <summary>
/// eventd-baseline --listen HOST:PORT [--return HOST:PORT] [--pipeline by-type|per-key] [--format json|binary]
/// Prints "listening" once bound, then every 100 ms one line of counters for the harness:
/// monotonic ns, received, bytes, passed the filter, window results (one per group per window),
/// written back, GC collections of generations 0/1/2, managed bytes allocated, RSS, invalid events.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        IPEndPoint? listen = null;
        IPEndPoint? returnTo = null;
        string pipelineName = "by-type";
        bool binary = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--listen" when i + 1 < args.Length:
                    listen = IPEndPoint.Parse(args[++i]);
                    break;
                case "--return" when i + 1 < args.Length:
                    returnTo = IPEndPoint.Parse(args[++i]);
                    break;
                case "--pipeline" when i + 1 < args.Length && args[i + 1] is "by-type" or "per-key":
                    pipelineName = args[++i];
                    break;
                case "--format" when i + 1 < args.Length && args[i + 1] is "json" or "binary":
                    binary = args[++i] == "binary";
                    break;
                default:
                    Console.Error.WriteLine($"eventd-baseline: unknown or incomplete argument '{args[i]}' " +
                        "(usage: --listen HOST:PORT [--return HOST:PORT] [--pipeline by-type|per-key] [--format json|binary])");
                    return 2;
            }
        }

        if (listen is null)
        {
            Console.Error.WriteLine("eventd-baseline: --listen HOST:PORT is required");
            return 2;
        }

        var pipeline = new Pipeline(returnTo, pipelineName == "per-key", binary);
        _ = pipeline.Start();
        var listener = new TcpListener(listen);
        listener.Start();
        Console.WriteLine("listening");
        Console.Out.Flush();
        using var report = new Timer(_ => Report(pipeline), null, 100, 100);
        while (true)
        {
            TcpClient client = await listener.AcceptTcpClientAsync().ConfigureAwait(false);
            _ = Task.Run(() => binary ? pipeline.ReadFramesAsync(client) : pipeline.ReadConnectionAsync(client));
        }
    }

    private static void Report(Pipeline p)
    {
        string line = string.Join(' ',
            Stopwatch.GetTimestamp() * (1_000_000_000 / Stopwatch.Frequency),
            Interlocked.Read(ref p.Received),
            Interlocked.Read(ref p.Bytes),
            Interlocked.Read(ref p.Passed),
            Interlocked.Read(ref p.WindowsEmitted),
            Interlocked.Read(ref p.Written),
            GC.CollectionCount(0),
            GC.CollectionCount(1),
            GC.CollectionCount(2),
            GC.GetTotalAllocatedBytes(false),
            Environment.WorkingSet,
            Interlocked.Read(ref p.Invalid));
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }
}
