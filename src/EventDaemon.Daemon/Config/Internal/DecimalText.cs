using System.Globalization;

namespace EventDaemon.Daemon.Config.Internal;

/// <summary>The number part of a duration or size: digits, an optional fraction, and TOML-style <c>_</c> separators.</summary>
internal static class DecimalText
{
    /// <summary>More digits than any duration or size below <see cref="long.MaxValue"/> needs; keeps decimal arithmetic from overflowing.</summary>
    private const int MaxLength = 24;

    public static bool TryParse(ReadOnlySpan<char> number, out decimal amount)
    {
        amount = 0;
        if (number.IsEmpty || number.Length > MaxLength || number[0] is '.' or '_' || number[^1] is '.' or '_'
            || number.Contains("__", StringComparison.Ordinal) || number.Contains("_.", StringComparison.Ordinal)
            || number.Contains("._", StringComparison.Ordinal))
        {
            return false;
        }

        Span<char> digits = stackalloc char[MaxLength];
        int length = 0;
        foreach (char c in number)
        {
            if (c != '_')
            {
                digits[length++] = c;
            }
        }

        return decimal.TryParse(digits[..length], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out amount);
    }
}
