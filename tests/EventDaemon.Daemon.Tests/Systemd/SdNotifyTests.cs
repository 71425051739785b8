using System.Diagnostics;
using System.Globalization;
using EventDaemon.Daemon.Systemd;
using Xunit;

namespace EventDaemon.Daemon.Tests.Systemd;

public sealed class SdNotifyTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    public static TheoryData<string> Kinds => ["path", "abstract"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EachHelper_SendsExactlyItsDatagram(string kind)
    {
        using DatagramReceiver receiver = kind == "path" ? DatagramReceiver.AtPath() : DatagramReceiver.AtAbstractName();
        using var notify = new SdNotify(receiver.NotifySocket);
        Assert.True(notify.Enabled, $"not enabled for NOTIFY_SOCKET={receiver.NotifySocket}");

        Assert.True(notify.Ready(), "Ready() was not sent");
        Assert.Equal("READY=1", receiver.Receive(Deadline));
        Assert.True(notify.Status("1234 events/s"), "Status() was not sent");
        Assert.Equal("STATUS=1234 events/s", receiver.Receive(Deadline));
        Assert.True(notify.Stopping(), "Stopping() was not sent");
        Assert.Equal("STOPPING=1", receiver.Receive(Deadline));
        Assert.True(notify.Watchdog(), "Watchdog() was not sent");
        Assert.Equal("WATCHDOG=1", receiver.Receive(Deadline));
        Assert.True(notify.Send("STATUS=draining\nERRNO=0"), "Send(string) was not sent");
        Assert.Equal("STATUS=draining\nERRNO=0", receiver.Receive(Deadline));
        Assert.Empty(receiver.Pending());
    }

    [Fact]
    public void Reloading_CarriesTheMonotonicClockInMicroseconds()
    {
        using DatagramReceiver receiver = DatagramReceiver.AtPath();
        using var notify = new SdNotify(receiver.NotifySocket);
        long before = SdNotify.MonotonicMicroseconds();
        Assert.True(notify.Reloading(), "Reloading() was not sent");
        long after = SdNotify.MonotonicMicroseconds();

        string? datagram = receiver.Receive(Deadline);
        const string Prefix = "RELOADING=1\nMONOTONIC_USEC=";
        Assert.True(datagram is not null && datagram.StartsWith(Prefix, StringComparison.Ordinal), $"unexpected datagram: {datagram}");
        long stamp = long.Parse(datagram.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture);
        Assert.True(before <= stamp && stamp <= after, $"MONOTONIC_USEC={stamp} is not between the readings {before} and {after} taken around it");
    }

    /// <summary>
    /// Stopwatch reads CLOCK_MONOTONIC on Linux: a clock_gettime reading taken between two Stopwatch
    /// readings lies between them. (CLOCK_BOOTTIME would differ by the time suspended, CLOCK_REALTIME by decades.)
    /// </summary>
    [Fact]
    public void Stopwatch_IsClockMonotonic()
    {
        Assert.True(Stopwatch.Frequency == 1_000_000_000, $"Stopwatch.Frequency is {Stopwatch.Frequency}; expected nanoseconds on Linux");
        long first = Stopwatch.GetTimestamp() / 1000;
        long monotonic = SdNotify.MonotonicMicroseconds();
        long second = Stopwatch.GetTimestamp() / 1000;
        Assert.True(first <= monotonic && monotonic <= second, $"CLOCK_MONOTONIC {monotonic} µs is not between Stopwatch readings {first} and {second} µs");
    }

    [Fact]
    public void Status_ReplacesNewlines_SoItCannotInjectAssignments()
    {
        using DatagramReceiver receiver = DatagramReceiver.AtPath();
        using var notify = new SdNotify(receiver.NotifySocket);
        Assert.True(notify.Status("rate 5/s\nREADY=1\r\nü"), "Status() was not sent");
        Assert.Equal("STATUS=rate 5/s READY=1  ü", receiver.Receive(Deadline));
    }

    [Fact]
    public void Watchdog_AllocatesNothing()
    {
        using DatagramReceiver receiver = DatagramReceiver.AtPath();
        using var notify = new SdNotify(receiver.NotifySocket);
        for (int i = 0; i < 200; i++)
        {
            Assert.True(notify.Watchdog(), "warm-up ping not sent");
            receiver.Pending();
        }

        // Measured five pings at a time, draining in between outside the measurement: the receiving
        // queue holds only max_dgram_qlen (10) datagrams, and the receiver's strings are allocations
        // of its own.
        long allocated = 0;
        for (int round = 0; round < 40; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 5; i++)
            {
                notify.Watchdog();
            }

            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(receiver.Pending().Count == 5, "not every ping arrived");
        }

        Assert.True(allocated == 0, $"200 WATCHDOG=1 pings allocated {allocated} bytes");
    }

    /// <summary>A service manager that stopped reading must not hang the daemon: sends give up after a bounded wait.</summary>
    [Fact]
    public void ReceiverNotReading_SendsFailInsteadOfBlocking()
    {
        using DatagramReceiver receiver = DatagramReceiver.AtPath();
        var log = new List<string>();
        using var notify = new SdNotify(receiver.NotifySocket, log: log.Add);
        int sent = 0;
        while (notify.Watchdog())
        {
            sent++;
            Assert.True(sent < 100_000, "100,000 datagrams queued at a receiver that reads none");
        }

        Assert.True(notify.Failures == 1 && log.Count == 1, $"expected one failure, logged: {notify.Failures} failures, log: {string.Join(" | ", log)}");
        Assert.True(receiver.Pending().Count == sent, "datagrams reported sent did not all arrive");
        Assert.True(notify.Ready(), "a send after the receiver caught up failed");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void WithoutNotifySocket_IsDisabled_AndSendsNothing(string? socket)
    {
        using var notify = new SdNotify(socket);
        Assert.False(notify.Enabled, "enabled without a socket");
        Assert.False(notify.Ready(), "Ready() reported a send without a socket");
        Assert.False(notify.Status("x"), "Status() reported a send without a socket");
    }

    [Fact]
    public void UnsupportedSocketName_IsDisabled_AndSaysWhy()
    {
        var log = new List<string>();
        using var notify = new SdNotify("vsock:2:1234", log: log.Add);
        Assert.False(notify.Enabled, "enabled for a vsock address");
        Assert.True(log.Count == 1 && log[0].Contains("vsock:2:1234", StringComparison.Ordinal), $"expected one message naming the address: {string.Join(" | ", log)}");
    }

    [Fact]
    public void NoListener_FailuresAreLoggedOnce_AndNeverThrown()
    {
        string directory = Directory.CreateTempSubdirectory("eventd-notify-").FullName;
        try
        {
            var log = new List<string>();
            using var notify = new SdNotify(Path.Combine(directory, "nobody"), log: log.Add);
            for (int i = 0; i < 5; i++)
            {
                Assert.False(notify.Watchdog(), "a send to a socket nobody binds reported success");
            }

            Assert.True(notify.Failures == 5, $"{notify.Failures} failures counted for 5 sends");
            Assert.True(log.Count == 1 && log[0].Contains("nobody", StringComparison.Ordinal), $"expected exactly one message naming the socket: {string.Join(" | ", log)}");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// An independent implementation binds the abstract name (socat sizes the address exactly, as
    /// systemd does), so the test would catch an address length that only .NET agrees with.
    /// </summary>
    [Fact]
    public void AbstractName_ReachesASocketBoundByAnotherImplementation()
    {
        Assert.True(File.Exists("/usr/bin/socat"), "socat is not installed (scripts/deps.sh installs it)");
        string name = $"eventd-test-{Guid.NewGuid():N}";
        var start = new ProcessStartInfo("/usr/bin/socat") { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("-u");
        start.ArgumentList.Add($"ABSTRACT-RECV:{name}");
        start.ArgumentList.Add("STDOUT");
        using Process socat = Process.Start(start)!;
        try
        {
            using var notify = new SdNotify("@" + name);

            // Until socat has bound the name, sends are refused; retry until one gets through.
            Assert.True(Wait.Until(notify.Ready, Deadline), "socat never received on the abstract name");
            char[] buffer = new char[7];
            int read = 0;
            Task<int> reading = socat.StandardOutput.ReadBlockAsync(buffer, 0, buffer.Length);
            Assert.True(reading.Wait(Deadline), "socat printed nothing");
            read = reading.Result;
            Assert.Equal("READY=1", new string(buffer, 0, read));
        }
        finally
        {
            socat.Kill();
            socat.WaitForExit();
        }
    }

    [Theory]
    [InlineData("10000000", null, "00:00:05")]
    [InlineData("10000000", "", "00:00:05")]
    [InlineData("3000000", "OWN", "00:00:01.5")]
    [InlineData("1", null, "00:00:00.0000001")]
    [InlineData("10000000", "1", null)]
    [InlineData("10000000", "x", null)]
    [InlineData(null, null, null)]
    [InlineData("", null, null)]
    [InlineData("0", null, null)]
    [InlineData("-5", null, null)]
    [InlineData("5s", null, null)]
    [InlineData(" 100", null, null)]
    public void WatchdogInterval_IsHalfOfWatchdogUsec_ForThisProcessOnly(string? usec, string? pid, string? expected)
    {
        const int OwnPid = 4242;
        TimeSpan? interval = SdNotify.ParseWatchdogInterval(usec, pid == "OWN" ? OwnPid.ToString(CultureInfo.InvariantCulture) : pid, OwnPid);
        TimeSpan? want = expected is null ? null : TimeSpan.Parse(expected, CultureInfo.InvariantCulture);
        Assert.True(interval == want, $"WATCHDOG_USEC={usec ?? "(unset)"} WATCHDOG_PID={pid ?? "(unset)"}: got {interval?.ToString() ?? "null"}, expected {want?.ToString() ?? "null"}");
    }

    [Fact]
    public void WatchdogInterval_IsCarriedByTheInstance()
    {
        using var notify = new SdNotify("/run/systemd/notify", TimeSpan.FromSeconds(5));
        Assert.Equal(TimeSpan.FromSeconds(5), notify.WatchdogInterval);
        Assert.Equal("/run/systemd/notify", notify.SocketName);
    }
}
