using System.Buffers.Text;
using EventDaemon.Events;

namespace EventDaemon.Stages.Aggregation;

/// <summary>
/// Formats one aggregate result line (SPEC §3):
/// <c>{"window_start":…,"window_end":…,"type":"…","key":"…","count":3,"sum":30.5,…}</c>.
/// Times are integer Unix nanoseconds; group fields carry their <c>group_by</c> names; only the
/// configured metrics appear; value metrics are <c>null</c> when no event of the group had a value.
/// String group values are JSON-escaped here (the group key holds them unescaped).
/// </summary>
public static class AggregateOutput
{
    private static readonly (AggregateMetrics Metric, byte[] Name, double Quantile)[] Quantiles =
    [
        (AggregateMetrics.P50, ",\"p50\":"u8.ToArray(), 0.5),
        (AggregateMetrics.P90, ",\"p90\":"u8.ToArray(), 0.9),
        (AggregateMetrics.P99, ",\"p99\":"u8.ToArray(), 0.99),
        (AggregateMetrics.P999, ",\"p999\":"u8.ToArray(), 0.999),
    ];

    /// <summary>Longest line <paramref name="spec"/> can produce: a destination this long never overflows.</summary>
    public static int MaxLength(AggregateSpec spec)
    {
        // {"window_start":…,"window_end":… with two integers of at most 20 characters.
        int length = 80;
        foreach (GroupField field in spec.GroupBy)
        {
            length += field.OutputPrefix.Length + 2; // ,"name": and the quotes
        }

        // Every key byte escaped as \u00XX at worst.
        length += 6 * AggregateSpec.MaxKeyBytes;

        // Nine metrics: name (≤ 9 bytes with comma, quotes and colon) and a number of ≤ 26 bytes.
        length += 9 * 40;
        return length + 1;
    }

    /// <param name="quantiles">the group's quantiles; read only when the spec has percentiles and the group has values.</param>
    public static int Write(AggregateSpec spec, long windowStart, ref GroupHeader g, ReadOnlySpan<byte> key,
        scoped in GroupQuantiles quantiles, Span<byte> d, ref EventSlot slot) =>
        WriteGroup(spec, WriteWindow(spec, windowStart, d), ref g, key, quantiles, d, ref slot);

    /// <summary>
    /// Writes the part of a line every group of a window shares, <c>{"window_start":…,"window_end":…</c>,
    /// and returns its length: a window's lines are written by one call of this and one
    /// <see cref="WriteGroup"/> per group into the same buffer.
    /// </summary>
    public static int WriteWindow(AggregateSpec spec, long windowStart, Span<byte> d)
    {
        int n = 0;
        Append(d, ref n, "{\"window_start\":"u8);
        Integer(d, ref n, windowStart);
        Append(d, ref n, ",\"window_end\":"u8);
        Integer(d, ref n, windowStart + spec.WindowNanos);
        return n;
    }

    /// <summary>Writes the rest of a group's line after the <paramref name="windowLength"/> bytes <see cref="WriteWindow"/> left in <paramref name="d"/>; returns the line's length.</summary>
    public static int WriteGroup(AggregateSpec spec, int windowLength, ref GroupHeader g, ReadOnlySpan<byte> key,
        scoped in GroupQuantiles quantiles, Span<byte> d, ref EventSlot slot)
    {
        int n = windowLength;

        int k = 0;
        foreach (GroupField field in spec.GroupBy)
        {
            byte kind = key[k];
            int length = (key[k + 1] << 8) | key[k + 2];
            ReadOnlySpan<byte> value = key.Slice(k + 3, length);
            k += 3 + length;
            Append(d, ref n, field.OutputPrefix);
            if (kind == (byte)'n')
            {
                Append(d, ref n, "null"u8);
            }
            else if (kind == (byte)'s')
            {
                d[n++] = (byte)'"';
                int at = n;
                bool escaped = AppendEscaped(d, ref n, value);
                int written = n - at;
                d[n++] = (byte)'"';
                if (field.Kind == GroupFieldKind.Type)
                {
                    slot.TypeOffset = at;
                    slot.TypeLength = (ushort)written;
                    slot.Flags |= EventFlags.HasType | (escaped ? EventFlags.TypeEscaped : 0);
                }
                else if (field.Kind == GroupFieldKind.Key)
                {
                    slot.KeyOffset = at;
                    slot.KeyLength = (ushort)written;
                    slot.Flags |= EventFlags.HasKey | (escaped ? EventFlags.KeyEscaped : 0);
                }
            }
            else
            {
                Append(d, ref n, value);
            }
        }

        AggregateMetrics m = spec.Metrics;
        bool valued = g.Valued > 0;
        if ((m & AggregateMetrics.Count) != 0)
        {
            Append(d, ref n, ",\"count\":"u8);
            Integer(d, ref n, g.Count);
        }

        if ((m & AggregateMetrics.Sum) != 0)
        {
            Append(d, ref n, ",\"sum\":"u8);
            Number(d, ref n, valued ? g.Sum : 0);
        }

        if ((m & AggregateMetrics.Min) != 0)
        {
            Append(d, ref n, ",\"min\":"u8);
            NumberOrNull(d, ref n, valued, g.Min);
        }

        if ((m & AggregateMetrics.Max) != 0)
        {
            Append(d, ref n, ",\"max\":"u8);
            NumberOrNull(d, ref n, valued, g.Max);
        }

        if ((m & AggregateMetrics.Mean) != 0)
        {
            Append(d, ref n, ",\"mean\":"u8);
            NumberOrNull(d, ref n, valued, g.Sum / g.Valued);
        }

        foreach ((AggregateMetrics metric, byte[] name, double q) in Quantiles)
        {
            if ((m & metric) != 0)
            {
                Append(d, ref n, name);
                NumberOrNull(d, ref n, valued, valued ? quantiles.At(q) : 0);
            }
        }

        d[n++] = (byte)'}';
        return n;
    }

    private static void Append(Span<byte> d, ref int n, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(d[n..]);
        n += bytes.Length;
    }

    /// <summary>
    /// Writes UTF-8 <paramref name="utf8"/> as the inside of a JSON string: quote, backslash and
    /// control bytes escaped. Returns whether anything was escaped.
    /// </summary>
    private static bool AppendEscaped(Span<byte> d, ref int n, ReadOnlySpan<byte> utf8)
    {
        if (utf8.IndexOfAnyInRange((byte)0, (byte)0x1F) < 0 && utf8.IndexOfAny((byte)'"', (byte)'\\') < 0)
        {
            // Most keys need no escape: copied whole.
            Append(d, ref n, utf8);
            return false;
        }

        bool escaped = false;
        foreach (byte b in utf8)
        {
            if (b == (byte)'"' || b == (byte)'\\')
            {
                d[n++] = (byte)'\\';
                d[n++] = b;
                escaped = true;
            }
            else if (b < 0x20)
            {
                Append(d, ref n, "\\u00"u8);
                d[n++] = (byte)"0123456789abcdef"u8[b >> 4];
                d[n++] = (byte)"0123456789abcdef"u8[b & 0xF];
                escaped = true;
            }
            else
            {
                d[n++] = b;
            }
        }

        return escaped;
    }

    private static void Integer(Span<byte> d, ref int n, long value)
    {
        Utf8Formatter.TryFormat(value, d[n..], out int written);
        n += written;
    }

    private static void NumberOrNull(Span<byte> d, ref int n, bool present, double value)
    {
        if (present)
        {
            Number(d, ref n, value);
        }
        else
        {
            Append(d, ref n, "null"u8);
        }
    }

    /// <summary>Shortest round-trip form; integral values keep a ".0" so readers see a float.</summary>
    internal static void Number(Span<byte> d, ref int n, double value)
    {
        if (!double.IsFinite(value))
        {
            Append(d, ref n, "null"u8);
            return;
        }

        if (TryShortDecimal(d, ref n, value))
        {
            return;
        }

        value.TryFormat(d[n..], out int written, "R", System.Globalization.CultureInfo.InvariantCulture);
        bool integral = d.Slice(n, written).IndexOfAny(".eE"u8) < 0;
        n += written;
        if (integral)
        {
            Append(d, ref n, ".0"u8);
        }
    }

    /// <summary>
    /// The common case of <see cref="Number"/> without the general shortest-digits search: a value
    /// that is a decimal of at most 15 significant digits between 10^-4 and 10^15 (where the
    /// round-trip form is plain, not exponential). For the fewest fraction digits k that work,
    /// m = round(|v|·10^k) and m / 10^k == |v| (both exact in doubles, the division correctly
    /// rounded) proves that m·10^-k reads back as v; 15 digits or fewer, no other decimal of as
    /// many digits does (DBL_DIG), and none of fewer fraction digits did: it is the shortest form,
    /// the one the general path writes. Anything else (zeros, tiny, huge, 16–17 digits) goes there.
    /// </summary>
    private static bool TryShortDecimal(Span<byte> d, ref int n, double value)
    {
        double a = Math.Abs(value);
        if (!(a >= 1e-4 && a < 1e15))
        {
            return false;
        }

        ReadOnlySpan<double> pow10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18];
        for (int k = 0; k < pow10.Length; k++)
        {
            double scaled = a * pow10[k];
            if (scaled >= 1e15)
            {
                return false;
            }

            // Nearest integer (a tie reads back as neither neighbour, so either will do): scaled is
            // below 2^50, where adding ½ is exact, and truncating a positive double is a single
            // instruction where Math.Round may be a call.
            long m = (long)(scaled + 0.5);
            if (m / pow10[k] == a)
            {
                if (value < 0)
                {
                    d[n++] = (byte)'-';
                }

                WriteFixed(d, ref n, m, k);
                return true;
            }
        }

        return false;
    }

    /// <summary>Writes <paramref name="m"/>·10^-<paramref name="k"/> in plain notation, with ".0" when k is 0.</summary>
    private static void WriteFixed(Span<byte> d, ref int n, long m, int k)
    {
        Span<byte> digits = stackalloc byte[20];
        int count = 0;
        do
        {
            digits[count++] = (byte)('0' + (m % 10));
            m /= 10;
        }
        while (m != 0);

        // digits holds the number backwards; the integer part is what lies above k digits.
        int integerDigits = count - k;
        if (integerDigits <= 0)
        {
            d[n++] = (byte)'0';
        }
        else
        {
            for (int i = count - 1; i >= k; i--)
            {
                d[n++] = digits[i];
            }
        }

        d[n++] = (byte)'.';
        if (k == 0)
        {
            d[n++] = (byte)'0';
            return;
        }

        for (int i = k - 1; i >= 0; i--)
        {
            d[n++] = i < count ? digits[i] : (byte)'0';
        }
    }
}
