namespace EventDaemon.Daemon.Control.Internal;

/// <summary>What is at a path, as far as the control socket cares.</summary>
internal enum PathKind
{
    Missing,
    Socket,
    Directory,
    Symlink,
    Other,

    /// <summary>The kernel would not say (a permission problem on a parent, say).</summary>
    Unknown,
}

/// <summary>One <c>lstat</c> of a path: its kind, owner, permission bits and inode.</summary>
/// <param name="Permissions">The low 12 bits of st_mode: rwx for user, group, other, and setuid, setgid, sticky.</param>
/// <param name="Error">The errno when <see cref="Kind"/> is <see cref="PathKind.Unknown"/>, else 0.</param>
internal readonly record struct PathStatus(PathKind Kind, uint Owner, int Permissions, ulong Inode, int Error)
{
    /// <summary>S_IWGRP | S_IWOTH: someone other than the owner may create, remove and rename entries.</summary>
    public const int WritableByOthers = 0x12;

    /// <summary>S_ISVTX: in a directory, only an entry's owner (or the directory's, or root) may remove or rename it.</summary>
    public const int Sticky = 0x200;

    public bool IsWritableByOthers => (Permissions & WritableByOthers) != 0;

    public bool IsSticky => (Permissions & Sticky) != 0;

    /// <summary>The permission bits as <c>chmod</c> prints them (<c>0755</c>, <c>1777</c>).</summary>
    public string OctalPermissions => Convert.ToString(Permissions, 8).PadLeft(4, '0');
}
