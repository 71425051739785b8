using System.Globalization;
using System.Text;

namespace EventDaemon.Events.Tests.Support;

/// <summary>
/// Builds random JSON event lines: well-known fields of right and wrong types, extra fields with
/// nested values, escapes (short, \u, surrogate pairs), non-ASCII text, duplicates and whitespace.
/// Deterministic for a given <see cref="Random"/> seed.
/// </summary>
internal sealed class RandomJson(Random random)
{
    private static readonly string[] WellKnown = ["ts", "type", "key", "value"];

    private const string MutationBytes = "{}[]\":,\\ 0-1eE.tfnu\u0000";

    private static readonly string[] TextPieces =
    [
        "a", "b", "Z", "0", " ", "-", "_", "/", "\"", "\\", "\n", "\t", "\u0001", "\u001f", "\u007f",
        "é", "ß", "中", "文", "\u2028", "\uFFFD", "😀", "𝄞", "{", "}", "[", "]", ",", ":", "ts", "type",
    ];

    public string Line()
    {
        var sb = new StringBuilder();
        sb.Append(Ws()).Append('{').Append(Ws());
        int fields = random.Next(0, 9);
        for (int i = 0; i < fields; i++)
        {
            if (i > 0)
            {
                sb.Append(Ws()).Append(',').Append(Ws());
            }

            string name = random.Next(3) == 0 ? RandomText(0, 8) : random.Next(6) == 0 ? "extra" + random.Next(3) : WellKnown[random.Next(WellKnown.Length)];
            sb.Append(JsonString(name)).Append(Ws()).Append(':').Append(Ws()).Append(ValueFor(name));
        }

        sb.Append(Ws()).Append('}').Append(Ws());
        return sb.ToString();
    }

    /// <summary>A random byte-level mutation of <paramref name="line"/>: delete, insert, replace or truncate.</summary>
    public byte[] Mutate(byte[] line)
    {
        var bytes = new List<byte>(line);
        int edits = random.Next(1, 4);
        for (int e = 0; e < edits; e++)
        {
            int at = random.Next(0, bytes.Count + 1);
            byte b = random.Next(4) == 0 ? (byte)random.Next(256) : (byte)MutationBytes[random.Next(MutationBytes.Length)];
            switch (random.Next(4))
            {
                case 0 when at < bytes.Count:
                    bytes.RemoveAt(at);
                    break;
                case 1:
                    bytes.Insert(at, b);
                    break;
                case 2 when at < bytes.Count:
                    bytes[at] = b;
                    break;
                default:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
            }
        }

        return [.. bytes];
    }

    private string ValueFor(string name) => name switch
    {
        "ts" => random.Next(10) switch
        {
            < 3 => random.NextInt64(long.MinValue, long.MaxValue).ToString(CultureInfo.InvariantCulture),
            < 6 => JsonString(Rfc3339Text()),
            6 => JsonString(RandomText(0, 12)),
            7 => "9223372036854775808",
            8 => Number(),
            _ => AnyValue(2),
        },
        "type" or "key" => random.Next(10) < 8 ? JsonString(RandomText(0, 20)) : AnyValue(2),
        "value" => random.Next(10) < 8 ? Number() : random.Next(2) == 0 ? "1e400" : AnyValue(2),
        _ => AnyValue(4),
    };

    private string AnyValue(int depth)
    {
        int kind = random.Next(depth > 0 ? 8 : 6);
        switch (kind)
        {
            case 0: return "true";
            case 1: return "false";
            case 2: return "null";
            case 3: return Number();
            case 4:
            case 5: return JsonString(RandomText(0, 16));
            case 6:
                {
                    var sb = new StringBuilder("[").Append(Ws());
                    int n = random.Next(0, 4);
                    for (int i = 0; i < n; i++)
                    {
                        sb.Append(i > 0 ? "," : "").Append(Ws()).Append(AnyValue(depth - 1)).Append(Ws());
                    }

                    return sb.Append(']').ToString();
                }

            default:
                {
                    var sb = new StringBuilder("{").Append(Ws());
                    int n = random.Next(0, 4);
                    for (int i = 0; i < n; i++)
                    {
                        sb.Append(i > 0 ? "," : "").Append(Ws()).Append(JsonString(RandomText(0, 6))).Append(':').Append(AnyValue(depth - 1));
                    }

                    return sb.Append('}').ToString();
                }
        }
    }

    private string Number()
    {
        switch (random.Next(8))
        {
            case 0: return random.Next(-1000, 1000).ToString(CultureInfo.InvariantCulture);
            case 1: return random.NextInt64().ToString(CultureInfo.InvariantCulture);
            case 2:
                {
                    double d = BitConverter.Int64BitsToDouble(random.NextInt64());
                    return double.IsFinite(d) ? d.ToString("R", CultureInfo.InvariantCulture) : "0";
                }

            case 3: return (random.NextDouble() * 1000).ToString("R", CultureInfo.InvariantCulture);
            case 4: return "-0";
            case 5: return $"{random.Next(1, 10)}.{random.Next(0, 1000000)}e{(random.Next(2) == 0 ? "-" : random.Next(2) == 0 ? "+" : "")}{random.Next(0, 330)}";
            case 6: return "0." + new string('0', random.Next(0, 30)) + random.Next(1, 99999);
            default: return new string('9', random.Next(15, 40)) + (random.Next(2) == 0 ? "" : "." + new string('7', random.Next(1, 30)));
        }
    }

    private string Rfc3339Text()
    {
        int year = random.Next(1600, 2400);
        int month = random.Next(0, 14);
        int day = random.Next(0, 32);
        int hour = random.Next(0, 25);
        int minute = random.Next(0, 61);
        int second = random.Next(0, 62);
        string sep = random.Next(10) switch { 0 => "t", 1 => " ", _ => "T" };
        string fraction = random.Next(3) == 0 ? "" : "." + new string('0', 0) + random.NextInt64(0, 1_000_000_000_000).ToString(CultureInfo.InvariantCulture)[..random.Next(1, 5)];
        if (random.Next(3) == 0)
        {
            fraction = "." + random.Next(0, 1_000_000_000).ToString("D9", CultureInfo.InvariantCulture)[..random.Next(1, 10)];
        }

        string zone = random.Next(4) switch
        {
            0 => "Z",
            1 => "z",
            _ => $"{(random.Next(2) == 0 ? '+' : '-')}{random.Next(0, 25):D2}:{random.Next(0, 61):D2}",
        };
        if (random.Next(20) == 0)
        {
            zone = "";
        }

        return $"{year:D4}-{month:D2}-{day:D2}{sep}{hour:D2}:{minute:D2}:{second:D2}{fraction}{zone}";
    }

    private string RandomText(int min, int max)
    {
        int n = random.Next(min, max + 1);
        var sb = new StringBuilder();
        for (int i = 0; i < n; i++)
        {
            sb.Append(TextPieces[random.Next(TextPieces.Length)]);
        }

        return sb.ToString();
    }

    private string JsonString(string value)
    {
        var sb = new StringBuilder("\"");
        bool escapeAll = random.Next(8) == 0;
        foreach (Rune r in value.EnumerateRunes())
        {
            int v = r.Value;
            bool escape = escapeAll || random.Next(10) == 0;
            if (v == '"' || v == '\\')
            {
                sb.Append(escape ? $"\\u{v:x4}" : "\\" + (char)v);
            }
            else if (v < 0x20)
            {
                sb.Append(v switch
                {
                    '\n' when !escape => "\\n",
                    '\t' when !escape => "\\t",
                    _ => $"\\u{v:X4}",
                });
            }
            else if (v == '/' && escape)
            {
                sb.Append("\\/");
            }
            else if (escape)
            {
                char[] utf16 = new char[2];
                int units = r.EncodeToUtf16(utf16);
                for (int u = 0; u < units; u++)
                {
                    sb.Append(random.Next(2) == 0 ? $"\\u{(int)utf16[u]:x4}" : $"\\u{(int)utf16[u]:X4}");
                }
            }
            else
            {
                sb.Append(r.ToString());
            }
        }

        return sb.Append('"').ToString();
    }

    private string Ws() => random.Next(6) switch
    {
        0 => " ",
        1 => "\t ",
        2 when random.Next(4) == 0 => "\r\n ",
        _ => "",
    };
}
