namespace EventDaemon.Daemon.Config;

/// <summary>A place in a config file, as an editor numbers it.</summary>
/// <param name="File">The path as it was given to the loader (not made absolute), or <c>&lt;embedded&gt;</c>.</param>
/// <param name="Line">1-based line; 0 when the message is about the file as a whole (it could not be read).</param>
/// <param name="Column">1-based column counted in Unicode scalar values, a tab counting as one.</param>
public readonly record struct ConfigPosition(string File, int Line, int Column) : IComparable<ConfigPosition>
{
    public int CompareTo(ConfigPosition other)
    {
        int byFile = string.CompareOrdinal(File, other.File);
        if (byFile != 0)
        {
            return byFile;
        }

        return Line != other.Line ? Line.CompareTo(other.Line) : Column.CompareTo(other.Column);
    }

    public override string ToString() => Line == 0 ? File : $"{File}:{Line}:{Column}";
}
