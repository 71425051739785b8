using System.Runtime.InteropServices;
using System.Text;
using EventDaemon.Daemon.Control;

namespace EventDaemon.Cli.Commands;

/// <summary>
/// <c>eventd top [--socket PATH] [--once]</c>: a live view of the running daemon, refreshed once a
/// second from <c>stats json</c> and <c>health</c> (the frame itself is <see cref="TopView"/>).
/// </summary>
/// <remarks>
/// <para>
/// The view draws on the terminal's alternate screen and redraws in place: cursor home, each line
/// overwritten and its rest cleared, then the rest of the screen cleared. Nothing is cleared
/// before it is drawn, so a refresh does not flicker, and nothing needs more than the basic VT100
/// sequences every terminal and ssh client understands.
/// </para>
/// <para>
/// Keys are read on a thread of their own (the console reads them unbuffered and unechoed while
/// it waits), so <c>q</c> quits at once rather than at the next refresh; Ctrl-C arrives as a key
/// too, and SIGTERM, SIGHUP and SIGWINCH wake the loop. Every way out goes through one
/// <c>finally</c> that leaves the alternate screen and shows the cursor again.
/// </para>
/// </remarks>
public static class TopCommand
{
    /// <summary>The daemon is gone or never answered.</summary>
    public const int ExitDaemonGone = 1;

    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(1);

    /// <summary>A daemon that takes longer than this to answer <c>stats json</c> is shown as gone: the view must not freeze on it.</summary>
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(5);

    private const string EnterAlternateScreen = "\e[?1049h";
    private const string LeaveAlternateScreen = "\e[?1049l";
    private const string HideCursor = "\e[?25l";
    private const string ShowCursor = "\e[?25h";
    private const string CursorHome = "\e[H";
    private const string ClearToEndOfLine = "\e[K";
    private const string ClearToEndOfScreen = "\e[J";

    /// <summary>Runs the view until <c>q</c>, Ctrl-C or a signal; with <paramref name="once"/> (or when stdout is not a terminal) prints one plain snapshot.</summary>
    /// <returns>0, or <see cref="ExitDaemonGone"/> with one line on stderr saying why.</returns>
    public static int Run(string socket, bool once)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (once || Console.IsOutputRedirected || Console.IsInputRedirected)
        {
            return Once(socket);
        }

        return Live(socket);
    }

    /// <summary>Two readings a refresh apart, so the rates are real, printed without escapes or cuts.</summary>
    private static int Once(string socket)
    {
        if (!TryRead(socket, out TopSnapshot? first, out string? failure))
        {
            Console.Error.WriteLine(failure);
            return ExitDaemonGone;
        }

        Thread.Sleep(Refresh);
        if (!TryRead(socket, out TopSnapshot? second, out failure))
        {
            Console.Error.WriteLine(failure);
            return ExitDaemonGone;
        }

        var text = new StringBuilder();
        foreach (string line in TopView.Render(second, first, socket, int.MaxValue, int.MaxValue))
        {
            text.Append(line).Append('\n');
        }

        Console.Out.Write(text.ToString());
        return 0;
    }

    private static int Live(string socket)
    {
        // The first reading before the screen is taken: a daemon that is not there gets the plain
        // one-line error of every other command, with the terminal untouched.
        if (!TryRead(socket, out TopSnapshot? previous, out string? failure))
        {
            Console.Error.WriteLine(failure);
            return ExitDaemonGone;
        }

        using var wake = new SemaphoreSlim(0);
        int quit = 0;
        void Quit()
        {
            Volatile.Write(ref quit, 1);
            wake.Release();
        }

        using Stream stdout = Console.OpenStandardOutput();
        Console.TreatControlCAsInput = true;
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            // Only when Ctrl-C still arrives as a signal (TreatControlCAsInput could not be set):
            // the loop restores the terminal before it returns.
            e.Cancel = true;
            Quit();
        };
        Console.CancelKeyPress += onCancel;
        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnQuitSignal);
        using PosixSignalRegistration hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnQuitSignal);
        using PosixSignalRegistration resize = PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _ => wake.Release());
        var keys = new Thread(ReadKeys) { IsBackground = true, Name = "eventd-top-keys" };
        Write(stdout, EnterAlternateScreen + HideCursor);
        try
        {
            keys.Start();
            TopSnapshot? current = null;
            long nextReading = Environment.TickCount64 + (long)Refresh.TotalMilliseconds;
            Draw(stdout, previous, null, socket);
            while (Volatile.Read(ref quit) == 0)
            {
                long wait = nextReading - Environment.TickCount64;
                if (wait > 0 && wake.Wait(TimeSpan.FromMilliseconds(wait)))
                {
                    // A key or a resize: redraw the last reading at the new size, without a new reading.
                    if (Volatile.Read(ref quit) == 0)
                    {
                        Draw(stdout, current ?? previous, current is null ? null : previous, socket);
                    }

                    continue;
                }

                if (!TryRead(socket, out TopSnapshot? reading, out failure))
                {
                    break;
                }

                if (current is not null)
                {
                    previous = current;
                }

                current = reading;
                nextReading = Environment.TickCount64 + (long)Refresh.TotalMilliseconds;
                Draw(stdout, current, previous, socket);
            }
        }
        finally
        {
            Write(stdout, ShowCursor + LeaveAlternateScreen);
            Console.CancelKeyPress -= onCancel;
        }

        if (failure is not null)
        {
            Console.Error.WriteLine(failure);
            return ExitDaemonGone;
        }

        return 0;

        void OnQuitSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            Quit();
        }

        void ReadKeys()
        {
            while (true)
            {
                ConsoleKeyInfo key = Console.ReadKey(intercept: true);
                bool ctrlC = key.Key == ConsoleKey.C && (key.Modifiers & ConsoleModifiers.Control) != 0;
                if (key.KeyChar is 'q' or 'Q' || ctrlC || key.KeyChar == '\u0003')
                {
                    Quit();
                    return;
                }

                wake.Release();
            }
        }
    }

    /// <summary>One frame in one write: home, each line then clear-to-end-of-line, then clear the rest of the screen.</summary>
    private static void Draw(Stream stdout, TopSnapshot current, TopSnapshot? previous, string socket)
    {
        // Read each time: SIGWINCH makes the console re-read the size, and a resize redraws at once.
        int width = Math.Max(1, Console.WindowWidth);
        int height = Math.Max(1, Console.WindowHeight);
        IReadOnlyList<string> lines = TopView.Render(current, previous, socket, width, height);
        var frame = new StringBuilder(CursorHome, (width + 8) * height);
        for (int i = 0; i < lines.Count; i++)
        {
            frame.Append(lines[i]).Append(ClearToEndOfLine);

            // No line feed after the last row: on the bottom line it would scroll the screen.
            if (i < lines.Count - 1)
            {
                frame.Append("\r\n");
            }
        }

        frame.Append(ClearToEndOfScreen);
        Write(stdout, frame.ToString());
    }

    private static void Write(Stream stdout, string text)
    {
        stdout.Write(Encoding.UTF8.GetBytes(text));
        stdout.Flush();
    }

    private static bool TryRead(string socket, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TopSnapshot? snapshot, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? failure)
    {
        snapshot = null;
        var stats = new StringWriter();
        var errors = new StringWriter();
        if (ControlClient.Run(ControlCommands.StatsJson, socket, stats, errors, ReplyTimeout) != ControlClient.ExitOk)
        {
            failure = Failure(errors.ToString(), socket);
            return false;
        }

        var health = new StringWriter();
        if (ControlClient.Run(ControlCommands.Health, socket, health, errors, ReplyTimeout) != ControlClient.ExitOk)
        {
            failure = Failure(errors.ToString(), socket);
            return false;
        }

        try
        {
            snapshot = TopSnapshot.Parse(stats.ToString(), health.ToString());
        }
        catch (FormatException e)
        {
            failure = $"eventd: {e.Message}";
            return false;
        }

        failure = null;
        return true;
    }

    private static string Failure(string clientError, string socket)
    {
        string reason = clientError.Trim();
        return reason.Length > 0 ? reason : $"eventd: the daemon at {socket} is gone";
    }
}
