using System.Globalization;
using EventDaemon.Daemon.Config.Internal;

namespace EventDaemon.Daemon.Config;

/// <summary>
/// A non-negative span of time with nanosecond resolution, written in the config as a string with a
/// unit: <c>"500ms"</c>, <c>"1s"</c>, <c>"2m"</c>, <c>"1h"</c>. Units are <c>ns us ms s m h</c>
/// (<c>µs</c> is accepted for <c>us</c>); a number may have a fraction (<c>"1.5s"</c>) and segments
/// may be chained, largest first or not (<c>"1m30s"</c>).
/// </summary>
/// <remarks>
/// Not <see cref="TimeSpan"/>: its 100 ns tick cannot hold the <c>ns</c> unit the config accepts,
/// and stages compare against event timestamps that are integer nanoseconds anyway. A bare number
/// is refused rather than read as seconds: <c>window = 5</c> could mean 5 s or 5 ms, and guessing
/// wrong silently changes every aggregate.
/// </remarks>
public readonly record struct Duration(long Nanoseconds) : IComparable<Duration>
{
    public const long NanosecondsPerMicrosecond = 1_000;
    public const long NanosecondsPerMillisecond = 1_000_000;
    public const long NanosecondsPerSecond = 1_000_000_000;
    public const long NanosecondsPerMinute = 60 * NanosecondsPerSecond;
    public const long NanosecondsPerHour = 60 * NanosecondsPerMinute;

    /// <summary>The units as the config spells them, for messages.</summary>
    public const string UnitList = "ns, us, ms, s, m, h";

    public static Duration Zero => default;

    public static Duration FromMilliseconds(long milliseconds) => new(checked(milliseconds * NanosecondsPerMillisecond));

    public static Duration FromSeconds(long seconds) => new(checked(seconds * NanosecondsPerSecond));

    public TimeSpan ToTimeSpan() => TimeSpan.FromTicks(Nanoseconds / 100);

    public int CompareTo(Duration other) => Nanoseconds.CompareTo(other.Nanoseconds);

    public static bool operator <(Duration left, Duration right) => left.Nanoseconds < right.Nanoseconds;

    public static bool operator >(Duration left, Duration right) => left.Nanoseconds > right.Nanoseconds;

    public static bool operator <=(Duration left, Duration right) => left.Nanoseconds <= right.Nanoseconds;

    public static bool operator >=(Duration left, Duration right) => left.Nanoseconds >= right.Nanoseconds;

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> is a sentence for the operator.</summary>
    public static bool TryParse(string text, out Duration value, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        value = default;
        if (text.Length == 0)
        {
            error = "empty duration (write e.g. \"500ms\" or \"1s\")";
            return false;
        }

        if (text[0] == '-')
        {
            error = $"\"{text}\" is negative; durations cannot be";
            return false;
        }

        if (text.AsSpan().ContainsAny(" \t"))
        {
            error = Suggest(text) is { } spelling
                ? $"\"{text}\" contains a space; write the unit right after the number: \"{spelling}\""
                : $"\"{text}\" contains a space; write the unit right after the number (units: {UnitList})";
            return false;
        }

        decimal total = 0;
        int i = 0;
        while (i < text.Length)
        {
            int numberStart = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.' || text[i] == '_'))
            {
                i++;
            }

            int unitStart = i;
            while (i < text.Length && !char.IsAsciiDigit(text[i]) && text[i] != '.')
            {
                i++;
            }

            ReadOnlySpan<char> number = text.AsSpan(numberStart, unitStart - numberStart);
            ReadOnlySpan<char> unit = text.AsSpan(unitStart, i - unitStart);
            if (number.IsEmpty)
            {
                error = $"\"{text}\" is not a duration (write e.g. \"500ms\" or \"1s\")";
                return false;
            }

            if (!DecimalText.TryParse(number, out decimal amount))
            {
                error = $"\"{text}\" is not a duration: '{number}' is not a number";
                return false;
            }

            if (unit.IsEmpty)
            {
                error = numberStart == 0
                    ? $"\"{text}\" has no unit (write e.g. \"{number}s\" or \"{number}ms\"; units: {UnitList})"
                    : $"\"{text}\" ends without a unit after '{number}' (units: {UnitList})";
                return false;
            }

            long scale = UnitScale(unit);
            if (scale == 0)
            {
                string hint = Suggest(text) is { } spelling ? $"; did you mean \"{spelling}\"?" : "";
                error = $"unknown unit '{unit}' in \"{text}\" (units: {UnitList}{hint})";
                return false;
            }

            // Bounded before multiplying: 24 digits times an hour would overflow decimal itself.
            total += amount > (decimal)long.MaxValue / scale ? (decimal)long.MaxValue + 1 : amount * scale;
            if (total > long.MaxValue)
            {
                error = $"\"{text}\" is too long (the limit is about 292 years)";
                return false;
            }
        }

        if (total != decimal.Truncate(total))
        {
            error = $"\"{text}\" is finer than a nanosecond";
            return false;
        }

        value = new Duration((long)total);
        error = "";
        return true;
    }

    /// <summary>
    /// What the operator most likely meant, in the one spelling the config accepts, or <c>null</c>:
    /// <c>"1 sec"</c> → <c>"1s"</c>, <c>"2 days"</c> → <c>"48h"</c>, <c>"1.5 hours"</c> →
    /// <c>"90m"</c>. Read leniently (spaces, any case, unit words), then written by
    /// <see cref="ToString"/>, so a suggestion always parses back to the value it stands for:
    /// suggesting a spelling that is then refused is worse than suggesting nothing.
    /// </summary>
    public static string? Suggest(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string compact = string.Concat(text.Where(c => !char.IsWhiteSpace(c))).ToLowerInvariant();
        decimal total = 0;
        int i = 0;
        while (i < compact.Length)
        {
            int numberStart = i;
            while (i < compact.Length && (char.IsAsciiDigit(compact[i]) || compact[i] == '.' || compact[i] == '_'))
            {
                i++;
            }

            int unitStart = i;
            while (i < compact.Length && (char.IsAsciiLetter(compact[i]) || compact[i] is 'µ' or 'μ'))
            {
                i++;
            }

            long scale = LenientScale(compact.AsSpan(unitStart, i - unitStart));
            if (unitStart == numberStart || scale == 0 || !DecimalText.TryParse(compact.AsSpan(numberStart, unitStart - numberStart), out decimal amount)
                || amount > (decimal)long.MaxValue / scale)
            {
                return null;
            }

            total += amount * scale;
            if (total > long.MaxValue)
            {
                return null;
            }
        }

        if (compact.Length == 0 || total != decimal.Truncate(total))
        {
            return null;
        }

        string spelling = new Duration((long)total).ToString();
        return TryParse(spelling, out _, out _) ? spelling : null;
    }

    /// <exception cref="FormatException"><paramref name="text"/> is not a duration.</exception>
    public static Duration Parse(string text) =>
        TryParse(text, out Duration value, out string error) ? value : throw new FormatException(error);

    /// <summary>The largest unit that divides the value exactly, so the text parses back to the same value.</summary>
    public override string ToString()
    {
        long ns = Nanoseconds;
        if (ns == 0)
        {
            return "0s";
        }

        return ns % NanosecondsPerHour == 0 ? Invariant(ns / NanosecondsPerHour, "h")
            : ns % NanosecondsPerMinute == 0 ? Invariant(ns / NanosecondsPerMinute, "m")
            : ns % NanosecondsPerSecond == 0 ? Invariant(ns / NanosecondsPerSecond, "s")
            : ns % NanosecondsPerMillisecond == 0 ? Invariant(ns / NanosecondsPerMillisecond, "ms")
            : ns % NanosecondsPerMicrosecond == 0 ? Invariant(ns / NanosecondsPerMicrosecond, "us")
            : Invariant(ns, "ns");
    }

    private static string Invariant(long amount, string unit) => amount.ToString(CultureInfo.InvariantCulture) + unit;

    /// <summary>The units and the words people write for them; a day is 24 h (no leap seconds here).</summary>
    private static long LenientScale(ReadOnlySpan<char> unit) => unit switch
    {
        "nsec" or "nsecs" or "nanosecond" or "nanoseconds" => 1,
        "usec" or "usecs" or "microsecond" or "microseconds" => NanosecondsPerMicrosecond,
        "msec" or "msecs" or "millisecond" or "milliseconds" => NanosecondsPerMillisecond,
        "sec" or "secs" or "second" or "seconds" => NanosecondsPerSecond,
        "min" or "mins" or "minute" or "minutes" => NanosecondsPerMinute,
        "hr" or "hrs" or "hour" or "hours" => NanosecondsPerHour,
        "d" or "day" or "days" => 24 * NanosecondsPerHour,
        _ => UnitScale(unit),
    };

    private static long UnitScale(ReadOnlySpan<char> unit) => unit switch
    {
        "ns" => 1,
        "us" or "µs" or "μs" => NanosecondsPerMicrosecond,
        "ms" => NanosecondsPerMillisecond,
        "s" => NanosecondsPerSecond,
        "m" => NanosecondsPerMinute,
        "h" => NanosecondsPerHour,
        _ => 0,
    };
}
