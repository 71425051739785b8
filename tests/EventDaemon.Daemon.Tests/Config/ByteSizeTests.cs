using EventDaemon.Daemon.Config;
using Xunit;

namespace EventDaemon.Daemon.Tests.Config;

public sealed class ByteSizeTests
{
    [Theory]
    [InlineData("64MiB", 64L * 1024 * 1024)]
    [InlineData("1KiB", 1024L)]
    [InlineData("2GiB", 2L * 1024 * 1024 * 1024)]
    [InlineData("1TiB", 1024L * 1024 * 1024 * 1024)]
    [InlineData("1.5KiB", 1536L)]
    [InlineData("1KB", 1000L)]
    [InlineData("5MB", 5_000_000L)]
    [InlineData("1GB", 1_000_000_000L)]
    [InlineData("64 MiB", 64L * 1024 * 1024)]
    [InlineData("64mib", 64L * 1024 * 1024)]
    [InlineData("512", 512L)]
    [InlineData("512B", 512L)]
    [InlineData("1_024B", 1024L)]
    public void TryParse_AcceptsBinaryAndDecimalUnits(string text, long bytes)
    {
        bool parsed = ByteSize.TryParse(text, out ByteSize value, out string error);
        Assert.True(parsed, $"\"{text}\" was rejected: {error}");
        ConfigTesting.Equal(bytes, value.Bytes, $"bytes of \"{text}\"");
    }

    [Theory]
    [InlineData("", "empty size (write e.g. \"64MiB\")")]
    [InlineData("64M", "ambiguous unit 'M' in \"64M\": write \"64MiB\" (1024-based) or \"64MB\" (1000-based)")]
    [InlineData("4k", "ambiguous unit 'k' in \"4k\": write \"4KiB\" (1024-based) or \"4KB\" (1000-based)")]
    [InlineData("12XB", "unknown unit 'XB' in \"12XB\" (units: B, KiB, MiB, GiB, TiB (1024-based) or KB, MB, GB, TB (1000-based))")]
    [InlineData("-1KiB", "\"-1KiB\" is negative; sizes cannot be")]
    [InlineData("MiB", "\"MiB\" is not a size (write e.g. \"64MiB\" or a number of bytes)")]
    [InlineData("0.1KiB", "\"0.1KiB\" is not a whole number of bytes")]
    [InlineData("9999999TiB", "\"9999999TiB\" is too large")]
    public void TryParse_RejectsWithAReason(string text, string expected)
    {
        bool parsed = ByteSize.TryParse(text, out _, out string error);
        Assert.False(parsed, $"\"{text}\" was accepted");
        ConfigTesting.Equal(expected, error, $"error for \"{text}\"");
    }

    [Theory]
    [InlineData(0L, "0B")]
    [InlineData(64L * 1024 * 1024, "64MiB")]
    [InlineData(1536L, "1536B")]
    [InlineData(1000L, "1KB")]
    [InlineData(3L * 1024 * 1024 * 1024, "3GiB")]
    [InlineData(7L, "7B")]
    public void ToString_UsesTheLargestExactUnitAndParsesBack(long bytes, string expected)
    {
        string text = new ByteSize(bytes).ToString();
        ConfigTesting.Equal(expected, text, "formatted size");
        ConfigTesting.Equal(bytes, ByteSize.Parse(text).Bytes, $"\"{text}\" parsed back");
    }
}
