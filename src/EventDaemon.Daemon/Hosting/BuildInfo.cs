using System.Reflection;
using System.Runtime.CompilerServices;

namespace EventDaemon.Daemon.Hosting;

/// <summary>
/// What <c>eventd version</c> prints. The commit comes from the informational version, which the
/// SDK suffixes with <c>+SourceRevisionId</c> (the publish script passes the git commit).
/// </summary>
public static class BuildInfo
{
    private static readonly string Informational =
        typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static string Version => Informational.Split('+')[0];

    public static string Commit => Informational.Contains('+') ? Informational.Split('+')[1] : "unknown";

    /// <summary>How this binary was built: Native AOT or JIT, and the configuration.</summary>
    public static string Flags =>
        (RuntimeFeature.IsDynamicCodeSupported ? "jit" : "native-aot") +
#if DEBUG
        ", debug" +
#else
        ", release" +
#endif
        $", {System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier}, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}";
}
