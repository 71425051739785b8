using System.Globalization;
using EventDaemon.Daemon.Config.Internal;

namespace EventDaemon.Daemon.Config;

/// <summary>
/// A number of bytes: in the config an integer (bytes) or a string with a unit, <c>"64MiB"</c>.
/// <c>B KiB MiB GiB TiB</c> are powers of 1024; <c>KB MB GB TB</c> are powers of 1000, as their
/// names say (IEC 80000-13). Units are matched without regard to case, a space may separate the
/// number from the unit, and a fraction is accepted when the result is a whole number of bytes
/// (<c>"1.5KiB"</c> is 1536).
/// </summary>
/// <remarks>
/// A bare <c>K</c>, <c>M</c> or <c>G</c> is refused as ambiguous: systemd reads <c>64M</c> as
/// 64 × 1024², most storage vendors as 64 × 1000², and for an arena the difference is 3 MiB of
/// locked memory.
/// </remarks>
public readonly record struct ByteSize(long Bytes) : IComparable<ByteSize>
{
    public const long KiB = 1024;
    public const long MiB = 1024 * KiB;
    public const long GiB = 1024 * MiB;
    public const long TiB = 1024 * GiB;

    public const string UnitList = "B, KiB, MiB, GiB, TiB (1024-based) or KB, MB, GB, TB (1000-based)";

    public static ByteSize FromMiB(long mebibytes) => new(checked(mebibytes * MiB));

    public int CompareTo(ByteSize other) => Bytes.CompareTo(other.Bytes);

    public static bool operator <(ByteSize left, ByteSize right) => left.Bytes < right.Bytes;

    public static bool operator >(ByteSize left, ByteSize right) => left.Bytes > right.Bytes;

    public static bool operator <=(ByteSize left, ByteSize right) => left.Bytes <= right.Bytes;

    public static bool operator >=(ByteSize left, ByteSize right) => left.Bytes >= right.Bytes;

    /// <summary>Parses the string form; on failure <paramref name="error"/> is a sentence for the operator.</summary>
    public static bool TryParse(string text, out ByteSize value, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        value = default;
        if (text.Length == 0)
        {
            error = "empty size (write e.g. \"64MiB\")";
            return false;
        }

        if (text[0] == '-')
        {
            error = $"\"{text}\" is negative; sizes cannot be";
            return false;
        }

        int i = 0;
        while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.' || text[i] == '_'))
        {
            i++;
        }

        ReadOnlySpan<char> number = text.AsSpan(0, i);
        ReadOnlySpan<char> unit = text.AsSpan(i).TrimStart(' ');
        if (number.IsEmpty || !DecimalText.TryParse(number, out decimal amount))
        {
            error = $"\"{text}\" is not a size (write e.g. \"64MiB\" or a number of bytes)";
            return false;
        }

        long scale = UnitScale(unit);
        if (scale == 0)
        {
            error = unit.Length == 1 && "kKmMgGtT".Contains(unit[0])
                ? Ambiguous(text, number.ToString(), unit[0])
                : Suggest(text) is { } spelling
                    ? $"unknown unit '{unit}' in \"{text}\" (units: {UnitList}); did you mean \"{spelling}\"?"
                    : $"unknown unit '{unit}' in \"{text}\" (units: {UnitList})";
            return false;
        }

        decimal total = amount > (decimal)long.MaxValue / scale ? decimal.MaxValue : amount * scale;
        if (total > long.MaxValue)
        {
            error = $"\"{text}\" is too large";
            return false;
        }

        if (total != decimal.Truncate(total))
        {
            error = $"\"{text}\" is not a whole number of bytes";
            return false;
        }

        value = new ByteSize((long)total);
        error = "";
        return true;
    }

    /// <summary>
    /// What the operator most likely meant, in a spelling the config accepts, or <c>null</c>:
    /// <c>"10 megabytes"</c> → <c>"10MB"</c>. Read leniently, written by <see cref="ToString"/>,
    /// so a suggestion always parses back to the value it stands for.
    /// </summary>
    public static string? Suggest(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string compact = string.Concat(text.Where(c => !char.IsWhiteSpace(c))).ToLowerInvariant();
        int i = 0;
        while (i < compact.Length && (char.IsAsciiDigit(compact[i]) || compact[i] == '.' || compact[i] == '_'))
        {
            i++;
        }

        long scale = compact[i..] switch
        {
            "byte" or "bytes" => 1,
            "kibibyte" or "kibibytes" => KiB,
            "mebibyte" or "mebibytes" => MiB,
            "gibibyte" or "gibibytes" => GiB,
            "tebibyte" or "tebibytes" => TiB,
            "kilobyte" or "kilobytes" => 1_000,
            "megabyte" or "megabytes" => 1_000_000,
            "gigabyte" or "gigabytes" => 1_000_000_000,
            "terabyte" or "terabytes" => 1_000_000_000_000,
            string unit => UnitScale(unit),
        };
        if (i == 0 || scale == 0 || !DecimalText.TryParse(compact.AsSpan(0, i), out decimal amount) || amount > long.MaxValue / scale)
        {
            return null;
        }

        decimal total = amount * scale;
        if (total != decimal.Truncate(total))
        {
            return null;
        }

        string spelling = new ByteSize((long)total).ToString();
        return TryParse(spelling, out _, out _) ? spelling : null;
    }

    /// <summary>Both readings of a bare K, M, G or T, each offered only if it is a whole number of bytes.</summary>
    private static string Ambiguous(string text, string number, char written)
    {
        char prefix = char.ToUpperInvariant(written);
        string binary = $"{number}{prefix}iB";
        string decimalUnit = $"{number}{prefix}B";
        bool binaryOk = TryParse(binary, out _, out _);
        bool decimalOk = TryParse(decimalUnit, out _, out _);
        return (binaryOk, decimalOk) switch
        {
            (true, true) => $"ambiguous unit '{written}' in \"{text}\": write \"{binary}\" (1024-based) or \"{decimalUnit}\" (1000-based)",
            (true, false) => $"ambiguous unit '{written}' in \"{text}\": write \"{binary}\" (1024-based)",
            (false, true) => $"ambiguous unit '{written}' in \"{text}\": write \"{decimalUnit}\" (1000-based)",
            _ => $"ambiguous unit '{written}' in \"{text}\": write a whole number of bytes with {UnitList}",
        };
    }

    /// <exception cref="FormatException"><paramref name="text"/> is not a size.</exception>
    public static ByteSize Parse(string text) =>
        TryParse(text, out ByteSize value, out string error) ? value : throw new FormatException(error);

    /// <summary>The largest unit that divides the value exactly (binary units first), so it parses back unchanged.</summary>
    public override string ToString()
    {
        long b = Bytes;
        if (b == 0)
        {
            return "0B";
        }

        return b % TiB == 0 ? Invariant(b / TiB, "TiB")
            : b % GiB == 0 ? Invariant(b / GiB, "GiB")
            : b % MiB == 0 ? Invariant(b / MiB, "MiB")
            : b % KiB == 0 ? Invariant(b / KiB, "KiB")
            : b % 1_000_000_000_000 == 0 ? Invariant(b / 1_000_000_000_000, "TB")
            : b % 1_000_000_000 == 0 ? Invariant(b / 1_000_000_000, "GB")
            : b % 1_000_000 == 0 ? Invariant(b / 1_000_000, "MB")
            : b % 1_000 == 0 ? Invariant(b / 1_000, "KB")
            : Invariant(b, "B");
    }

    private static string Invariant(long amount, string unit) => amount.ToString(CultureInfo.InvariantCulture) + unit;

    private static long UnitScale(ReadOnlySpan<char> unit)
    {
        Span<char> lower = stackalloc char[Math.Min(unit.Length, 8)];
        if (unit.Length > lower.Length)
        {
            return 0;
        }

        unit.ToLowerInvariant(lower);
        return lower switch
        {
            "" or "b" => 1,
            "kib" => KiB,
            "mib" => MiB,
            "gib" => GiB,
            "tib" => TiB,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            "tb" => 1_000_000_000_000,
            _ => 0,
        };
    }
}
