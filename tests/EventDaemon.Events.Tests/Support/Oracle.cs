using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EventDaemon.Events.BadInput;

namespace EventDaemon.Events.Tests.Support;

/// <summary>What a line should decode to, derived independently with System.Text.Json's JsonDocument.</summary>
internal static partial class Oracle
{
    public static Parsed? ExpectedOrNull(byte[] line, out bool stjAccepted, out JsonDocument? document)
    {
        document = null;
        try
        {
            document = JsonDocument.Parse(line);
            stjAccepted = true;
        }
        catch (JsonException)
        {
            stjAccepted = false;
            return null;
        }

        JsonElement root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return Fail(InvalidReason.NotObject);
        }

        JsonElement? ts = null, type = null, key = null, value = null;
        foreach (JsonProperty p in root.EnumerateObject())
        {
            switch (p.Name)
            {
                case "ts": ts = p.Value; break;
                case "type": type = p.Value; break;
                case "key": key = p.Value; break;
                case "value": value = p.Value; break;
            }
        }

        long? tsValue = null;
        if (ts is JsonElement t)
        {
            if (t.ValueKind == JsonValueKind.Number && t.GetRawText().IndexOfAny(['.', 'e', 'E']) < 0 && t.TryGetInt64(out long n))
            {
                tsValue = n;
            }
            else if (t.ValueKind == JsonValueKind.String && Rfc3339Reference(t.GetString()!) is long parsed)
            {
                tsValue = parsed;
            }
            else
            {
                return Fail(InvalidReason.BadTs);
            }
        }

        string? typeValue = null, keyValue = null;
        if (type is JsonElement ty)
        {
            if (ty.ValueKind != JsonValueKind.String)
            {
                return Fail(InvalidReason.BadType);
            }

            if (ty.GetRawText().Length - 2 > 65535)
            {
                return Fail(InvalidReason.FieldTooLong);
            }

            typeValue = ty.GetString();
        }

        if (key is JsonElement k)
        {
            if (k.ValueKind != JsonValueKind.String)
            {
                return Fail(InvalidReason.BadKey);
            }

            if (Encoding.UTF8.GetByteCount(k.GetRawText()) - 2 > 65535)
            {
                return Fail(InvalidReason.FieldTooLong);
            }

            keyValue = k.GetString();
        }

        double? number = null;
        if (value is JsonElement v)
        {
            if (v.ValueKind != JsonValueKind.Number)
            {
                return Fail(InvalidReason.BadValue);
            }

            double d = double.Parse(v.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture);
            if (!double.IsFinite(d))
            {
                return Fail(InvalidReason.BadValue);
            }

            number = d;
        }

        return new Parsed(true, InvalidReason.None, tsValue, typeValue, keyValue, number, default);
    }

    /// <summary>Independent RFC 3339 reading built on the BCL calendar (DateTime), with the documented extensions.</summary>
    public static long? Rfc3339Reference(string s)
    {
        Match m = Rfc3339Regex().Match(s);
        if (!m.Success)
        {
            return null;
        }

        int year = Int(m, 1), month = Int(m, 2), day = Int(m, 3), hour = Int(m, 4), minute = Int(m, 5), second = Int(m, 6);
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 60)
        {
            return null;
        }

        BigInteger fraction = 0;
        if (m.Groups[8].Success)
        {
            string digits = m.Groups[8].Value;
            digits = digits.Length > 9 ? digits[..9] : digits.PadRight(9, '0');
            fraction = BigInteger.Parse(digits, CultureInfo.InvariantCulture);
        }

        int offsetMinutes = 0;
        if (m.Groups[10].Success)
        {
            int oh = Int(m, 11), om = Int(m, 12);
            if (oh > 23 || om > 59)
            {
                return null;
            }

            offsetMinutes = ((oh * 60) + om) * (m.Groups[10].Value == "-" ? -1 : 1);
        }

        long baseTicks = new DateTime(year, month, day, hour, minute, 0, DateTimeKind.Utc).Ticks - DateTime.UnixEpoch.Ticks;
        BigInteger nanos = (new BigInteger(baseTicks) * 100) + (new BigInteger(second) * 1_000_000_000) + fraction - (new BigInteger(offsetMinutes) * 60_000_000_000);
        return nanos > long.MaxValue || nanos < long.MinValue ? null : (long)nanos;
    }

    private static int Int(Match m, int group) => int.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);

    private static Parsed Fail(InvalidReason reason) => new(false, reason, null, null, null, null, default);

    [GeneratedRegex(@"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.(\d+))?([Zz]|([+-])(\d{2}):(\d{2}))$")]
    private static partial Regex Rfc3339Regex();
}
