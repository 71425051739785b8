using System.Runtime.InteropServices;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Interop;

namespace EventDaemon.Daemon.Control.Internal;

/// <summary>
/// Whether the directory of a control socket is one that no other user can change, which is what
/// makes the socket in it the daemon's: whoever may remove or rename entries in a directory may
/// replace the socket with their own, and every client would then talk to them.
/// </summary>
/// <remarks>
/// The rules, checked with <c>lstat</c> on the socket's own directory:
/// <list type="bullet">
/// <item>a real directory, not a symbolic link (a link could be pointed elsewhere between checks);</item>
/// <item>owned by the daemon's user, or by root (root can replace anything anyway, so a root-owned
/// directory such as <c>/run</c> adds no one);</item>
/// <item>not writable by group or others — unless it has the sticky bit (<c>/tmp</c>, mode 1777),
/// where others may add entries but cannot remove or rename ours.</item>
/// </list>
/// The per-user default <c>/tmp/eventd-UID</c> is stricter: it must be owned by the daemon's user
/// itself and writable by no one else, sticky or not, because anyone may create that name in
/// <c>/tmp</c> before the daemon does. eventd creates it (mode 0700) when it is missing. The systemd
/// <c>RuntimeDirectory=</c> case (<c>/run/eventd</c>, owned by the service's user, mode 0755) passes.
/// </remarks>
internal static class SocketDirectory
{
    /// <summary>rwxr-x---, for a configured socket directory the daemon has to create: its group may reach the 0660 socket.</summary>
    public const UnixFileMode CreatedMode =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;

    /// <summary>rwx------, for <c>/tmp/eventd-UID</c>: in a directory every user can write, only its owner may enter.</summary>
    public const uint PrivateMode = 0x1C0;

    /// <summary>
    /// Creates <paramref name="directory"/> when missing, then refuses it unless it passes the rules
    /// above for a daemon running as <paramref name="uid"/>.
    /// </summary>
    /// <param name="perUserTemp">The directory is <c>/tmp/eventd-UID</c> (<see cref="IsPerUserTemp"/>): created 0700, held to the stricter rule.</param>
    /// <exception cref="ControlSocketException">The directory cannot be created or is not safe; one line for the operator.</exception>
    public static void Prepare(string directory, uint uid, bool perUserTemp)
    {
        PathStatus status = SocketFile.Lstat(directory);
        if (status.Kind == PathKind.Missing)
        {
            Create(directory, perUserTemp);
            status = SocketFile.Lstat(directory);
        }

        if (Refusal(directory, status, uid, perUserTemp) is { } refusal)
        {
            throw new ControlSocketException(refusal);
        }
    }

    /// <summary>Whether <paramref name="directory"/> is the per-user default in <c>/tmp</c> of <paramref name="uid"/>.</summary>
    public static bool IsPerUserTemp(string directory, uint uid) =>
        string.Equals(directory, DefaultPaths.PerUserTempDirectory(uid), StringComparison.Ordinal);

    /// <summary>Why a daemon running as <paramref name="uid"/> must not put its socket in <paramref name="directory"/>; null when it may.</summary>
    /// <param name="perUserTemp">The directory is <c>/tmp/eventd-UID</c>, which must be the daemon user's own.</param>
    public static string? Refusal(string directory, PathStatus status, uint uid, bool perUserTemp)
    {
        string fix = perUserTemp
            ? $"remove it and eventd creates it (mode 0700), or set [daemon] control_socket to another path"
            : "set [daemon] control_socket to a path in a directory that only the daemon's user (or root) can write";
        return status.Kind switch
        {
            PathKind.Missing => $"control socket directory {directory} does not exist: create it, or {fix}",
            PathKind.Unknown => $"cannot check the control socket directory {directory} ({Marshal.GetPInvokeErrorMessage(status.Error).ToLowerInvariant()}): {fix}",
            PathKind.Symlink => $"control socket directory {directory} is a symbolic link, which another user could point elsewhere: {fix}",
            not PathKind.Directory => $"control socket directory {directory} is not a directory: {fix}",
            _ when status.Owner != uid && (perUserTemp || status.Owner != 0) =>
                $"control socket directory {directory} is owned by uid {status.Owner}, not by the daemon's user (uid {uid}), so that user could replace the socket: {fix}",
            _ when status.IsWritableByOthers && (perUserTemp || !status.IsSticky) =>
                $"control socket directory {directory} is writable by other users (mode {status.OctalPermissions}), so any of them could replace the socket: {fix}",
            _ => null,
        };
    }

    /// <summary>
    /// The uid, other than root, that a client may trust to serve a socket at <paramref name="socketPath"/>:
    /// the owner of the socket's directory, when no one else could have made that directory or
    /// could change it (it and its parent are not writable by others, sticky or not, and the parent
    /// is root's or that same owner's). This is the systemd case: root's client talking to a
    /// <c>User=</c>/<c>DynamicUser=</c> daemon in <c>/run/eventd</c>. A directory in <c>/tmp</c> never
    /// qualifies: anyone may have created it.
    /// </summary>
    public static bool TryGetTrustedOwner(string socketPath, out uint owner)
    {
        owner = 0;
        string? directory = Path.GetDirectoryName(socketPath);
        string? parent = directory is null ? null : Path.GetDirectoryName(directory);
        if (directory is null || parent is null)
        {
            return false;
        }

        PathStatus own = SocketFile.Lstat(directory);
        PathStatus above = SocketFile.Lstat(parent);
        if (own.Kind != PathKind.Directory || own.IsWritableByOthers
            || above.Kind != PathKind.Directory || above.IsWritableByOthers
            || (above.Owner != 0 && above.Owner != own.Owner))
        {
            return false;
        }

        owner = own.Owner;
        return true;
    }

    private static void Create(string directory, bool perUserTemp)
    {
        try
        {
            if (perUserTemp)
            {
                // mkdir, not CreateDirectory: exactly this directory with exactly this mode, and
                // EEXIST (someone made it first) is left to the checks that follow.
                if (Libc.mkdir(directory, PrivateMode) != 0 && Marshal.GetLastPInvokeError() is int errno && errno != Libc.EExist)
                {
                    throw new IOException(Marshal.GetPInvokeErrorMessage(errno).ToLowerInvariant());
                }

                return;
            }

            Directory.CreateDirectory(directory, CreatedMode);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string reason = e is UnauthorizedAccessException ? "permission denied" : e.Message;
            throw new ControlSocketException(
                $"cannot create the control socket directory {directory} ({reason}): create it, or set [daemon] control_socket to a path the daemon's user can write", e);
        }
    }
}
