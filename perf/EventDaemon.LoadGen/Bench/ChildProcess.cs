using System.Diagnostics;
using System.Globalization;
using EventDaemon.LoadGen.Interop;

namespace EventDaemon.LoadGen.Bench;

/// <summary>
/// A process the harness starts and stops: its stderr (and any stdout line that is not a counter
/// sample) goes to a log file; a stdout line of integers is a counter sample, of which the latest
/// is kept; a stdout line <c>listening</c> says it is ready.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _logGate = new();
    private readonly ManualResetEventSlim _listening = new();
    private long[]? _latest;

    private ChildProcess(Process process, string logPath, string name)
    {
        _process = process;
        Name = name;
        LogPath = logPath;
        _log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        new Thread(() => Pump(process.StandardOutput, stdout: true)) { Name = name + "-out", IsBackground = true }.Start();
        new Thread(() => Pump(process.StandardError, stdout: false)) { Name = name + "-err", IsBackground = true }.Start();
    }

    public string Name { get; }

    public string LogPath { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The latest counter sample, or null before the first.</summary>
    public long[]? Latest => Volatile.Read(ref _latest);

    public static ChildProcess Start(string name, string file, IEnumerable<string> arguments, string logPath)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        Process process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        return new ChildProcess(process, logPath, name);
    }

    public void WaitListening(TimeSpan timeout)
    {
        if (!_listening.Wait(timeout))
        {
            throw new InvalidOperationException($"{Name} did not start listening within {timeout.TotalSeconds:0} s; see {LogPath}");
        }
    }

    /// <summary>Waits for the next counter sample after now, so it covers everything up to this moment.</summary>
    public long[] NextSample(TimeSpan timeout)
    {
        long[]? before = Latest;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            long[]? now = Latest;
            if (now is not null && !ReferenceEquals(now, before))
            {
                return now;
            }

            Thread.Sleep(5);
        }

        throw new InvalidOperationException($"{Name} printed no counters within {timeout.TotalSeconds:0} s; see {LogPath}");
    }

    /// <summary>SIGTERM, then SIGKILL if it is still there after <paramref name="grace"/>.</summary>
    public void Stop(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return;
        }

        Libc.kill(_process.Id, Libc.SigTerm);
        if (!_process.WaitForExit(grace))
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    public void Dispose()
    {
        Stop(TimeSpan.FromSeconds(10));
        _process.Dispose();
        lock (_logGate)
        {
            _log.Dispose();
        }
    }

    private void Pump(StreamReader reader, bool stdout)
    {
        try
        {
            string? line;
            while ((line = reader.ReadLine()) is not null)
            {
                if (stdout && line == "listening")
                {
                    _listening.Set();
                    continue;
                }

                if (stdout && TryParseSample(line, out long[] sample))
                {
                    Volatile.Write(ref _latest, sample);
                    continue;
                }

                lock (_logGate)
                {
                    _log.WriteLine(line);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
        }
    }

    private static bool TryParseSample(string line, out long[] sample)
    {
        string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        sample = new long[parts.Length];
        if (parts.Length < 2)
        {
            return false;
        }

        for (int i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out sample[i]))
            {
                return false;
            }
        }

        return true;
    }
}
