using System.Buffers.Binary;
using System.Text;

namespace EventDaemon.Events.Fuzz;

/// <summary>
/// Byte-level mutations and splices of a corpus, biased towards the tokens the decoders care
/// about (JSON punctuation, escapes, huge numbers, little-endian lengths). No coverage feedback:
/// inputs that ran cleanly join a bounded pool so mutations can stack.
/// </summary>
internal sealed class Mutator(Random random, List<byte[]> seeds)
{
    private const int PoolSize = 4096;
    private const int MaxInput = 4096;
    private const string Punctuation = "{}[]\":,\\ 0123456789eE.-+tfnul\"\n";

    private static readonly byte[][] Tokens =
    [
        .. new[]
        {
            "{", "}", "[", "]", "\"", ":", ",", "\\", "\\u", "\\ud83d", "\\ude00", "\\u0000", "true", "false", "null",
            "\"ts\":", "\"type\":", "\"key\":", "\"value\":", "1e400", "-0", "0.", "9223372036854775808", "-9223372036854775809",
            "1e-400", "\"2025-11-26T10:00:00Z\"", "\"2016-12-31T23:59:60.999999999999-23:59\"", "\r\n", "\n", "\r", " ", "\t",
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "{\"a\":{\"a\":{\"a\":{\"a\":",
        }.Select(Encoding.UTF8.GetBytes),
        [0xC3], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xEF, 0xBB, 0xBF], [0x00], [0xFF],
    ];

    private static readonly uint[] InterestingU32 = [0, 1, 27, 28, 29, 31, 32, 33, 255, 256, 1019, 1020, 1021, 4096, 65535, 65536, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF];

    private readonly List<byte[]> _pool = [];

    public byte[] Next()
    {
        byte[] start = _pool.Count > 0 && random.Next(3) > 0 ? _pool[random.Next(_pool.Count)] : seeds[random.Next(seeds.Count)];
        var data = new List<byte>(start);
        int mutations = 1 + random.Next(random.Next(2) == 0 ? 2 : 8);
        for (int m = 0; m < mutations; m++)
        {
            Apply(data);
        }

        if (data.Count > MaxInput)
        {
            data.RemoveRange(MaxInput, data.Count - MaxInput);
        }

        return [.. data];
    }

    public void Keep(byte[] input)
    {
        if (_pool.Count < PoolSize)
        {
            _pool.Add(input);
        }
        else
        {
            _pool[random.Next(PoolSize)] = input;
        }
    }

    private void Apply(List<byte> d)
    {
        int at = random.Next(d.Count + 1);
        switch (random.Next(11))
        {
            case 0 when d.Count > 0:
                d[Math.Min(at, d.Count - 1)] ^= (byte)(1 << random.Next(8));
                break;
            case 1 when d.Count > 0:
                d[Math.Min(at, d.Count - 1)] = (byte)random.Next(256);
                break;
            case 2 when d.Count > 0:
                d.RemoveRange(Math.Min(at, d.Count - 1), Math.Min(1 + random.Next(8), d.Count - Math.Min(at, d.Count - 1)));
                break;
            case 3:
            case 4:
                d.InsertRange(at, Tokens[random.Next(Tokens.Length)]);
                break;
            case 5 when d.Count > 0:
                {
                    int from = random.Next(d.Count);
                    int len = Math.Min(1 + random.Next(64), d.Count - from);
                    d.InsertRange(at, d.GetRange(from, len));
                    break;
                }

            case 6:
                {
                    byte[] other = seeds[random.Next(seeds.Count)];
                    if (other.Length > 0)
                    {
                        int from = random.Next(other.Length);
                        d.InsertRange(at, other.AsSpan(from, Math.Min(other.Length - from, 1 + random.Next(128))).ToArray());
                    }

                    break;
                }

            case 7 when d.Count >= 4:
                {
                    // Overwrite a little-endian u32 or u16 (frame lengths and length fields).
                    int pos = random.Next(d.Count - 3);
                    Span<byte> v = stackalloc byte[4];
                    BinaryPrimitives.WriteUInt32LittleEndian(v, InterestingU32[random.Next(InterestingU32.Length)]);
                    int width = random.Next(2) == 0 ? 4 : 2;
                    for (int k = 0; k < width; k++)
                    {
                        d[pos + k] = v[k];
                    }

                    break;
                }

            case 8 when d.Count > 0:
                d.RemoveRange(at == d.Count ? d.Count - 1 : at, d.Count - (at == d.Count ? d.Count - 1 : at));
                break;
            case 9 when d.Count > 1:
                {
                    // Swap two chunks.
                    int a = random.Next(d.Count), b = random.Next(d.Count);
                    (d[a], d[b]) = (d[b], d[a]);
                    break;
                }

            default:
                d.Insert(at, (byte)Punctuation[random.Next(Punctuation.Length)]);
                break;
        }
    }
}
