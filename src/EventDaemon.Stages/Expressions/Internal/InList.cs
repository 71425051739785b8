namespace EventDaemon.Stages.Expressions.Internal;

/// <summary>
/// The literals of one <c>x in [..]</c>, split by kind and sorted at compile time so a lookup is
/// a binary search over strings (ordinal UTF-8) or numbers, or a flag test.
/// </summary>
internal sealed class InList
{
    private readonly byte[][] _strings;
    private readonly LiteralValue[] _numbers;
    private readonly bool _hasTrue;
    private readonly bool _hasFalse;
    private readonly bool _hasNull;

    public InList(IEnumerable<LiteralValue> items)
    {
        var strings = new List<byte[]>();
        var numbers = new List<LiteralValue>();
        foreach (LiteralValue item in items)
        {
            switch (item.Kind)
            {
                case ScalarKind.String: strings.Add(item.Utf8!); break;
                case ScalarKind.Number: numbers.Add(item); break;
                case ScalarKind.True: _hasTrue = true; break;
                case ScalarKind.False: _hasFalse = true; break;
                default: _hasNull = true; break;
            }
        }

        strings.Sort(static (x, y) => x.AsSpan().SequenceCompareTo(y));
        numbers.Sort(static (x, y) => NumberComparison.Compare(x.IsInteger, x.Integer, x.Number, y.IsInteger, y.Integer, y.Number));
        _strings = [.. strings];
        _numbers = [.. numbers];
    }

    public bool Contains(in Scalar probe)
    {
        switch (probe.Kind)
        {
            case ScalarKind.String:
                return ContainsString(probe.Bytes, probe.Escaped);
            case ScalarKind.Number:
                return ContainsNumber(in probe);
            case ScalarKind.True:
                return _hasTrue;
            case ScalarKind.False:
                return _hasFalse;
            case ScalarKind.Null:
                return _hasNull;
            default:
                return false;
        }
    }

    private bool ContainsString(ReadOnlySpan<byte> raw, bool escaped)
    {
        byte[][] strings = _strings;
        int lo = 0;
        int hi = strings.Length - 1;
        while (lo <= hi)
        {
            int mid = lo + ((hi - lo) >> 1);
            int c = EscapedText.Compare(raw, escaped, strings[mid], bEscaped: false);
            if (c == 0)
            {
                return true;
            }

            if (c == NumberComparison.Unordered)
            {
                return false;
            }

            if (c < 0)
            {
                hi = mid - 1;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return false;
    }

    private bool ContainsNumber(in Scalar probe)
    {
        LiteralValue[] numbers = _numbers;
        int lo = 0;
        int hi = numbers.Length - 1;
        while (lo <= hi)
        {
            int mid = lo + ((hi - lo) >> 1);
            ref readonly LiteralValue n = ref numbers[mid];
            int c = NumberComparison.Compare(probe.IsInteger, probe.Integer, probe.Number, n.IsInteger, n.Integer, n.Number);
            if (c == 0)
            {
                return true;
            }

            if (c == NumberComparison.Unordered)
            {
                return false;
            }

            if (c < 0)
            {
                hi = mid - 1;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return false;
    }
}
