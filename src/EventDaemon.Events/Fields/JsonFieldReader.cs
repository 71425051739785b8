using System.Buffers;
using System.Runtime.CompilerServices;
using EventDaemon.Events.Codecs.Internal;

namespace EventDaemon.Events.Fields;

/// <summary>
/// Finds a top-level field of one JSON object line by name, for transforms reading <c>.field</c>.
/// </summary>
/// <remarks>
/// Lines in the ring were validated by <c>JsonEventParser</c> at ingest, so this reader skips values
/// without re-validating them; on malformed input it still never reads out of bounds and returns
/// false. When a name occurs more than once the last occurrence wins, the same rule the ingest
/// parser applies to the well-known fields (and the one <c>JsonElement.GetProperty</c> follows),
/// so the whole object is scanned even after a match.
/// </remarks>
public static class JsonFieldReader
{
    private static readonly SearchValues<byte> ContainerBytes = SearchValues.Create("\"{}[]"u8);

    public static bool TryGetField(ReadOnlySpan<byte> jsonObjectLine, ReadOnlySpan<byte> name, out JsonScalar value)
    {
        ReadOnlySpan<byte> s = jsonObjectLine;
        value = default;
        int i = SkipWhitespace(s, 0);
        if (i >= s.Length || s[i] != (byte)'{')
        {
            return false;
        }

        i = SkipWhitespace(s, i + 1);
        if (i < s.Length && s[i] == (byte)'}')
        {
            return false;
        }

        bool found = false;
        JsonScalar match = default;
        while (true)
        {
            if (i >= s.Length || s[i] != (byte)'"')
            {
                return false;
            }

            int keyStart = i + 1;
            int keyEnd = ScanString(s, keyStart, out bool keyEscaped);
            if (keyEnd < 0)
            {
                return false;
            }

            i = SkipWhitespace(s, keyEnd + 1);
            if (i >= s.Length || s[i] != (byte)':')
            {
                return false;
            }

            i = SkipWhitespace(s, i + 1);
            ReadOnlySpan<byte> key = s[keyStart..keyEnd];
            bool isMatch = keyEscaped
                ? JsonString.EqualsUnescaped(key, escaped: true, name)
                : key.SequenceEqual(name);

            int valueEnd = ReadValue(s, i, isMatch, out JsonScalar scalar);
            if (valueEnd < 0)
            {
                return false;
            }

            if (isMatch)
            {
                found = true;
                match = scalar;
            }

            i = SkipWhitespace(s, valueEnd);
            if (i >= s.Length)
            {
                return false;
            }

            if (s[i] == (byte)',')
            {
                i = SkipWhitespace(s, i + 1);
                continue;
            }

            if (s[i] == (byte)'}')
            {
                value = match;
                return found;
            }

            return false;
        }
    }

    /// <summary>Reads or skips the value at <paramref name="i"/>; returns the index past it or -1.</summary>
    private static int ReadValue(ReadOnlySpan<byte> s, int i, bool describe, out JsonScalar scalar)
    {
        scalar = default;
        if (i >= s.Length)
        {
            return -1;
        }

        byte c = s[i];
        switch (c)
        {
            case (byte)'"':
                {
                    int end = ScanString(s, i + 1, out bool escaped);
                    if (end >= 0 && describe)
                    {
                        scalar = new JsonScalar(JsonScalarKind.String, i + 1, end - i - 1, escaped);
                    }

                    return end < 0 ? -1 : end + 1;
                }

            case (byte)'{':
            case (byte)'[':
                {
                    int end = SkipContainer(s, i);
                    if (end >= 0 && describe)
                    {
                        var kind = c == (byte)'{' ? JsonScalarKind.Object : JsonScalarKind.Array;
                        scalar = new JsonScalar(kind, i, end - i, escaped: false);
                    }

                    return end;
                }

            case (byte)'t':
                return Literal(s, i, "true"u8, JsonScalarKind.True, describe, out scalar);
            case (byte)'f':
                return Literal(s, i, "false"u8, JsonScalarKind.False, describe, out scalar);
            case (byte)'n':
                return Literal(s, i, "null"u8, JsonScalarKind.Null, describe, out scalar);
            default:
                {
                    // Located, not converted: a number this scan passes over costs only its digits.
                    int end = JsonNumber.Skip(s, i, out bool integer);
                    if (end >= 0 && describe)
                    {
                        scalar = new JsonScalar(JsonScalarKind.Number, i, end - i, escaped: false, integer);
                    }

                    return end;
                }
        }
    }

    private static int Literal(ReadOnlySpan<byte> s, int i, ReadOnlySpan<byte> literal, JsonScalarKind kind, bool describe, out JsonScalar scalar)
    {
        scalar = default;
        if (!s[i..].StartsWith(literal))
        {
            return -1;
        }

        if (describe)
        {
            scalar = new JsonScalar(kind, i, literal.Length, escaped: false);
        }

        return i + literal.Length;
    }

    /// <summary>Returns the index of the closing quote of a string whose content starts at <paramref name="start"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int ScanString(ReadOnlySpan<byte> s, int start, out bool escaped)
    {
        escaped = false;
        int i = start;
        while (true)
        {
            if ((uint)i > (uint)s.Length)
            {
                return -1;
            }

            int k = s[i..].IndexOfAny((byte)'"', (byte)'\\');
            if (k < 0)
            {
                return -1;
            }

            i += k;
            if (s[i] == (byte)'"')
            {
                return i;
            }

            escaped = true;
            i += 2;
        }
    }

    /// <summary>Skips a balanced object or array starting at <paramref name="start"/>; returns the index past it or -1.</summary>
    private static int SkipContainer(ReadOnlySpan<byte> s, int start)
    {
        int depth = 0;
        int i = start;
        while (i < s.Length)
        {
            int k = s[i..].IndexOfAny(ContainerBytes);
            if (k < 0)
            {
                return -1;
            }

            i += k;
            switch (s[i])
            {
                case (byte)'"':
                    int end = ScanString(s, i + 1, out _);
                    if (end < 0)
                    {
                        return -1;
                    }

                    i = end + 1;
                    break;
                case (byte)'{':
                case (byte)'[':
                    depth++;
                    i++;
                    break;
                default:
                    depth--;
                    i++;
                    if (depth == 0)
                    {
                        return i;
                    }

                    break;
            }
        }

        return -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int SkipWhitespace(ReadOnlySpan<byte> s, int i)
    {
        while (i < s.Length)
        {
            byte c = s[i];
            if (c != (byte)' ' && c != (byte)'\t' && c != (byte)'\n' && c != (byte)'\r')
            {
                break;
            }

            i++;
        }

        return i;
    }
}
