using System.Net;
using System.Net.Sockets;
using System.Text;
using EventDaemon.Daemon.Http;
using Xunit;

namespace EventDaemon.Daemon.Tests.Http;

public sealed class HttpServerTests : IDisposable
{
    private static readonly IPEndPoint AnyLoopbackPort = new(IPAddress.Loopback, 0);
    private readonly FakeHttpTarget _target = new();
    private readonly HttpServer _server;

    public HttpServerTests() => _server = HttpServer.Start(AnyLoopbackPort, "127.0.0.1:0", _target, readDeadline: TimeSpan.FromMilliseconds(500));

    public void Dispose() => _server.Dispose();

    private string Url(string path) => $"http://127.0.0.1:{_server.LocalEndPoint.Port}{path}";

    [Fact]
    public void Health_WhenOk_Answers200Ok()
    {
        (int exit, string output) = RawHttp.Curl(Url("/health"));
        Assert.True(exit == 0 && output.StartsWith("HTTP/1.1 200 OK\r\n", StringComparison.Ordinal), $"curl exit {exit}:\n{output}");
        Assert.True(output.EndsWith("\r\n\r\nok\n", StringComparison.Ordinal), $"a healthy body is 'ok':\n{output}");
    }

    [Fact]
    public void Health_WithProblems_Answers503_OneProblemPerLine()
    {
        _target.HealthText = () => "stage fwd stalled: no progress for 6 s with 10 events waiting\nsink out failing: connection refused (12 errors)";
        string reply = RawHttp.Exchange(_server.LocalEndPoint, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.True(RawHttp.Status(reply) == 503, $"problems must give 503:\n{reply}");
        Assert.True(RawHttp.Body(reply) == "stage fwd stalled: no progress for 6 s with 10 events waiting\nsink out failing: connection refused (12 errors)\n",
            $"each problem on its own line:\n{reply}");
    }

    [Theory]
    [InlineData(DaemonPhase.Starting, 503, "starting\n")]
    [InlineData(DaemonPhase.Ready, 200, "ready\n")]
    [InlineData(DaemonPhase.Draining, 503, "draining\n")]
    public void Ready_FollowsThePhase(DaemonPhase phase, int status, string body)
    {
        _target.Phase = phase;
        string reply = RawHttp.Exchange(_server.LocalEndPoint, "GET /ready HTTP/1.1\r\n\r\n");
        Assert.True(RawHttp.Status(reply) == status && RawHttp.Body(reply) == body, $"/ready while {phase} should be {status} '{body.TrimEnd()}':\n{reply}");
    }

    [Fact]
    public void Metrics_IsTheExposition_WithThePrometheusContentType()
    {
        (int exit, string output) = RawHttp.Curl(Url("/metrics?name=x"));
        Assert.True(exit == 0 && output.StartsWith("HTTP/1.1 200 OK\r\n", StringComparison.Ordinal), $"curl exit {exit}:\n{output}");
        Assert.True(output.Contains("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n", StringComparison.Ordinal), $"Prometheus needs its content type:\n{output}");
        Assert.True(output.EndsWith("\r\n\r\n" + _target.Metrics(), StringComparison.Ordinal), $"the body is the exposition as it is:\n{output}");
    }

    [Fact]
    public void Head_AnswersTheHeadersOfGet_WithoutTheBody()
    {
        string reply = RawHttp.Exchange(_server.LocalEndPoint, "HEAD /metrics HTTP/1.1\r\n\r\n");
        int length = Encoding.UTF8.GetByteCount(_target.Metrics());
        Assert.True(RawHttp.Status(reply) == 200 && reply.Contains($"Content-Length: {length}\r\n", StringComparison.Ordinal), $"HEAD must give GET's headers:\n{reply}");
        Assert.True(RawHttp.Body(reply).Length == 0, $"HEAD must have no body:\n{reply}");
    }

    [Theory]
    [InlineData("GET /nope HTTP/1.1\r\n\r\n", 404)]
    [InlineData("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 405)]
    [InlineData("DELETE /health HTTP/1.1\r\n\r\n", 405)]
    [InlineData("GET /health HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 413)]
    [InlineData("GET /health HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 413)]
    [InlineData("hello\r\n\r\n", 400)]
    [InlineData("GET /health\r\n\r\n", 400)]
    [InlineData("GET /health HTTP/2.0\r\n\r\n", 505)]
    [InlineData("GET /health HTTP/1.0\n\n", 200)]
    public void Request_IsAnsweredWithItsStatus_AndOneLineBody(string request, int status)
    {
        string reply = RawHttp.Exchange(_server.LocalEndPoint, request);
        Assert.True(RawHttp.Status(reply) == status, $"expected {status} for {request.ReplaceLineEndings("\\n")}:\n{reply}");
        Assert.True(RawHttp.Body(reply).Count(c => c == '\n') == 1, $"the body should be one line:\n{reply}");
        Assert.True(reply.Contains("\r\nConnection: close\r\n", StringComparison.Ordinal), $"every reply closes:\n{reply}");
        if (status == 405)
        {
            Assert.True(reply.Contains("\r\nAllow: GET, HEAD\r\n", StringComparison.Ordinal), $"405 must say what is allowed:\n{reply}");
        }
    }

    [Fact]
    public void OversizedHead_Answers431()
    {
        string request = "GET /health HTTP/1.1\r\nX-Big: " + new string('a', HttpServer.MaxHeadBytes) + "\r\n\r\n";
        string reply = RawHttp.Exchange(_server.LocalEndPoint, request);
        Assert.True(RawHttp.Status(reply) == 431, $"a head over {HttpServer.MaxHeadBytes} bytes must give 431:\n{reply[..Math.Min(reply.Length, 300)]}");
    }

    [Fact]
    public void TargetThatThrows_Answers500_InOneLine_WithoutAStackTrace()
    {
        _target.MetricsText = () => throw new InvalidOperationException("metric 'x' is listed twice\nsecond line");
        string reply = RawHttp.Exchange(_server.LocalEndPoint, "GET /metrics HTTP/1.1\r\n\r\n");
        Assert.True(RawHttp.Status(reply) == 500, $"a failing target must give 500:\n{reply}");
        Assert.True(RawHttp.Body(reply) == "error: metric 'x' is listed twice second line\n", $"one line, the message only:\n{reply}");
        Assert.True(!reply.Contains(" at ", StringComparison.Ordinal), $"a stack trace leaked:\n{reply}");
    }

    [Fact]
    public void SlowlorisClient_IsAnswered408AtTheReadDeadline()
    {
        using Socket slow = RawHttp.Connect(_server.LocalEndPoint);
        slow.Send("GET /health HTTP/1.1\r\nX-A: "u8.ToArray());
        string reply = RawHttp.ReadToClose(slow);
        Assert.True(RawHttp.Status(reply) == 408, $"a head that never ends must be cut off with 408:\n{reply}");
    }

    [Fact]
    public void HundredHostileConnections_DoNotStopHealthAnswering()
    {
        var hostile = new List<Socket>();
        try
        {
            for (int i = 0; i < 100; i++)
            {
                Socket socket = RawHttp.Connect(_server.LocalEndPoint);
                hostile.Add(socket);
                if (i % 2 == 0)
                {
                    // Half trickle an unfinished head (slowloris), half say nothing.
                    socket.Send("GET /health HTTP/1.1\r\nX-Slow: "u8.ToArray());
                }
            }

            string reply = RawHttp.Exchange(_server.LocalEndPoint, "GET /health HTTP/1.1\r\n\r\n");
            Assert.True(RawHttp.Status(reply) == 200, $"/health must answer past 100 hostile connections:\n{reply}");
        }
        finally
        {
            foreach (Socket socket in hostile)
            {
                socket.Dispose();
            }
        }
    }

    [Fact]
    public void AddressInUse_IsOneLineNamingTheAddressAndTheFix()
    {
        HttpListenException? thrown = null;
        try
        {
            using HttpServer second = HttpServer.Start(_server.LocalEndPoint, $"127.0.0.1:{_server.LocalEndPoint.Port}", _target);
        }
        catch (HttpListenException e)
        {
            thrown = e;
        }

        Assert.True(thrown is not null, "binding a port in use must fail");
        Assert.True(thrown.Message == $"cannot listen for http on 127.0.0.1:{_server.LocalEndPoint.Port} (the address is in use): set [daemon] http to a free address of this machine, or remove it",
            $"message: {thrown.Message}");
    }
}
