using System.Net;
using EventDaemon.Daemon.Config;
using Xunit;

namespace EventDaemon.Daemon.Tests.Config;

public sealed class HttpSettingTests
{
    private static string WithHttp(string value) => $"[daemon]\nhttp = {value}\n\n{ConfigTesting.Pipeline}";

    [Fact]
    public void Absent_MeansNoEndpoint()
    {
        DaemonSettings daemon = ConfigTesting.Valid(ConfigTesting.Pipeline).Daemon;
        Assert.True(daemon.Http is null && daemon.HttpEndPoint is null, $"no http key must mean no endpoint, got {daemon.Http} / {daemon.HttpEndPoint}");
    }

    [Fact]
    public void Address_IsKeptAsWritten_AndResolvedToWhatIsBound()
    {
        DaemonSettings daemon = ConfigTesting.Valid(WithHttp("\"127.0.0.1:9598\"")).Daemon;
        Assert.True(daemon.Http == new HostPort("127.0.0.1", 9598), $"http as written: {daemon.Http}");
        Assert.True(daemon.HttpEndPoint is { } ep && ep.Equals(new IPEndPoint(IPAddress.Loopback, 9598)), $"http endpoint: {daemon.HttpEndPoint}");
    }

    [Fact]
    public void Rendering_KeepsTheAddress_AndReparsesToAnEqualModel()
    {
        EventdConfig original = ConfigTesting.Valid(WithHttp("\"127.0.0.1:9598\""));
        string rendered = ConfigRenderer.Render(original);
        Assert.True(rendered.Contains("http = \"127.0.0.1:9598\"\n", StringComparison.Ordinal), $"http missing from the effective config:\n{rendered}");
        Assert.True(original.Equals(ConfigTesting.Valid(rendered)), $"the rendered config loads to a different model:\n{rendered}");
    }

    [Theory]
    [InlineData("\"9598\"", "has no port")]
    [InlineData("\"127.0.0.1:99999\"", "is not a port")]
    [InlineData("9598", "a string")]
    [InlineData("\"192.0.2.1:9598\"", "no local interface has the address 192.0.2.1")]
    public void BadAddress_IsRefused_NamingTheKey(string value, string reason)
    {
        ConfigResult result = ConfigTesting.Parse(WithHttp(value));
        string[] lines = ConfigTesting.Lines(result);
        Assert.True(!result.Succeeded && lines.Length == 1 && lines[0].Contains("http", StringComparison.Ordinal) && lines[0].Contains(reason, StringComparison.Ordinal),
            $"http = {value} should be refused with '{reason}', got:\n{string.Join('\n', lines)}");
    }
}
