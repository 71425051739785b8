namespace EventDaemon.Events.Fuzz.Targets;

/// <summary>The fuzz targets by name; seeds live in seeds/&lt;name&gt;/, found crashes in regressions/&lt;name&gt;/.</summary>
public static class FuzzTargets
{
    public static readonly string[] Names = ["json", "lines", "binary", "rfc3339"];

    public static bool TryGet(string name, out Action<byte[]> run)
    {
        run = name switch
        {
            "json" => static b => JsonTarget.Run(b),
            "lines" => static b => LinesTarget.Run(b),
            "binary" => static b => BinaryTarget.Run(b),
            "rfc3339" => static b => Rfc3339Target.Run(b),
            _ => null!,
        };
        return run is not null;
    }
}
