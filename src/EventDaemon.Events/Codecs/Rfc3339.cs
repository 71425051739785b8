using System.Runtime.CompilerServices;

namespace EventDaemon.Events.Codecs;

/// <summary>
/// RFC 3339 timestamps (<c>2025-11-26T10:00:00.123456789+01:00</c>) to Unix nanoseconds, without allocating.
/// </summary>
/// <remarks>
/// Accepted: <c>YYYY-MM-DD</c>, a <c>T</c>/<c>t</c> separator (or a space, which RFC 3339 §5.6
/// permits), <c>hh:mm:ss</c>, an optional fraction of 1 or more digits (digits beyond nanoseconds
/// are truncated, not rounded, so an instant never moves into the next nanosecond), and
/// <c>Z</c>/<c>z</c> or a <c>±hh:mm</c> offset. Days are checked against the month (leap years
/// included). A leap second <c>:60</c> is accepted and counts as the first instant of the next
/// minute, as POSIX time has no leap seconds. The result must fit in a signed 64-bit nanosecond
/// count (1677-09-21 to 2262-04-11 UTC); anything else is rejected.
/// </remarks>
public static class Rfc3339
{
    private const long NanosPerSecond = 1_000_000_000;

    public static bool TryParseUnixNanos(ReadOnlySpan<byte> s, out long unixNanos)
    {
        unixNanos = 0;

        // Shortest form: "YYYY-MM-DDThh:mm:ssZ" = 20 bytes.
        if (s.Length < 20)
        {
            return false;
        }

        if (!Digits(s, 0, 4, out int year) || s[4] != (byte)'-' || !Digits(s, 5, 2, out int month) || s[7] != (byte)'-'
            || !Digits(s, 8, 2, out int day))
        {
            return false;
        }

        byte sep = s[10];
        if (sep != (byte)'T' && sep != (byte)'t' && sep != (byte)' ')
        {
            return false;
        }

        if (!Digits(s, 11, 2, out int hour) || s[13] != (byte)':' || !Digits(s, 14, 2, out int minute) || s[16] != (byte)':'
            || !Digits(s, 17, 2, out int second))
        {
            return false;
        }

        if (month is < 1 or > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 60)
        {
            return false;
        }

        int i = 19;
        long fraction = 0;
        if (s[i] == (byte)'.')
        {
            i++;
            int start = i;
            int scale = 0;
            while (i < s.Length && s[i] - (uint)'0' <= 9)
            {
                if (scale < 9)
                {
                    fraction = (fraction * 10) + (s[i] - '0');
                    scale++;
                }

                i++;
            }

            if (i == start)
            {
                return false;
            }

            for (; scale < 9; scale++)
            {
                fraction *= 10;
            }
        }

        if (i >= s.Length)
        {
            return false;
        }

        int offsetSeconds;
        byte z = s[i];
        if (z == (byte)'Z' || z == (byte)'z')
        {
            offsetSeconds = 0;
            i++;
        }
        else if (z == (byte)'+' || z == (byte)'-')
        {
            if (s.Length - i < 6 || !Digits(s, i + 1, 2, out int oh) || s[i + 3] != (byte)':' || !Digits(s, i + 4, 2, out int om)
                || oh > 23 || om > 59)
            {
                return false;
            }

            offsetSeconds = ((oh * 60) + om) * 60;
            if (z == (byte)'-')
            {
                offsetSeconds = -offsetSeconds;
            }

            i += 6;
        }
        else
        {
            return false;
        }

        if (i != s.Length)
        {
            return false;
        }

        long seconds = (DaysFromCivil(year, month, day) * 86_400L) + (hour * 3600L) + (minute * 60L) + second - offsetSeconds;

        // 128-bit arithmetic: the product can exceed 64 bits for years far from 1970.
        Int128 nanos = ((Int128)seconds * NanosPerSecond) + fraction;
        if (nanos > long.MaxValue || nanos < long.MinValue)
        {
            return false;
        }

        unixNanos = (long)nanos;
        return true;
    }

    /// <summary>Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days_from_civil).</summary>
    internal static long DaysFromCivil(int year, int month, int day)
    {
        int y = month <= 2 ? year - 1 : year;
        int era = (y >= 0 ? y : y - 399) / 400;
        int yearOfEra = y - (era * 400);
        int dayOfYear = (((153 * (month > 2 ? month - 3 : month + 9)) + 2) / 5) + day - 1;
        int dayOfEra = (yearOfEra * 365) + (yearOfEra / 4) - (yearOfEra / 100) + dayOfYear;
        return (era * 146_097L) + dayOfEra - 719_468;
    }

    private static int DaysInMonth(int year, int month)
    {
        if (month == 2)
        {
            bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            return leap ? 29 : 28;
        }

        return month is 4 or 6 or 9 or 11 ? 30 : 31;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Digits(ReadOnlySpan<byte> s, int at, int count, out int value)
    {
        value = 0;
        for (int k = 0; k < count; k++)
        {
            uint d = (uint)(s[at + k] - '0');
            if (d > 9)
            {
                return false;
            }

            value = (value * 10) + (int)d;
        }

        return true;
    }
}
