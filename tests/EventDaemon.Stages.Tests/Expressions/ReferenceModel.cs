using System.Globalization;
using System.Text;

namespace EventDaemon.Stages.Tests.Expressions;

/// <summary>JSON <c>null</c> in the reference model.</summary>
internal sealed record JsonNull
{
    public static readonly JsonNull Instance = new();

    public override string ToString() => "null";
}

/// <summary>A JSON object or array in the reference model, kept as its text.</summary>
internal sealed record JsonContainer(string Json)
{
    public override string ToString() => Json;
}

/// <summary>
/// An event in the reference model: plain C# values, serialised to a JSON line for the real
/// parser. Field values are string, double, bool, <see cref="JsonNull"/> or <see cref="JsonContainer"/>.
/// </summary>
internal sealed record ModelEvent(string? Type, string? Key, double? Value, long? Ts, (string Name, object Value)[] Fields, bool EscapeEverything)
{
    public string ToJson()
    {
        var sb = new StringBuilder("{");
        bool first = true;
        void Name(string name)
        {
            sb.Append(first ? "" : ",");
            first = false;
            WriteString(sb, name, EscapeEverything);
            sb.Append(':');
        }

        if (Ts is long ts)
        {
            Name("ts");
            sb.Append(ts.ToString(CultureInfo.InvariantCulture));
        }

        if (Type is not null)
        {
            Name("type");
            WriteString(sb, Type, EscapeEverything);
        }

        if (Key is not null)
        {
            Name("key");
            WriteString(sb, Key, EscapeEverything);
        }

        if (Value is double value)
        {
            Name("value");
            sb.Append(value.ToString("R", CultureInfo.InvariantCulture));
        }

        foreach ((string name, object v) in Fields)
        {
            Name(name);
            switch (v)
            {
                case string s: WriteString(sb, s, EscapeEverything); break;
                case double d: sb.Append(d.ToString("R", CultureInfo.InvariantCulture)); break;
                case bool b: sb.Append(b ? "true" : "false"); break;
                case JsonNull: sb.Append("null"); break;
                case JsonContainer c: sb.Append(c.Json); break;
            }
        }

        return sb.Append('}').ToString();
    }

    /// <summary>Writes a JSON (or expression) string literal; with <paramref name="escapeAll"/> every non-alphanumeric character becomes \uXXXX.</summary>
    public static void WriteString(StringBuilder sb, string s, bool escapeAll)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            if (escapeAll && !char.IsAsciiLetterOrDigit(c))
            {
                sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
            else if (c == '"' || c == '\\')
            {
                sb.Append('\\').Append(c);
            }
            else if (c == '\n')
            {
                sb.Append("\\n");
            }
            else if (c < 0x20)
            {
                sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(c);
            }
        }

        sb.Append('"');
    }
}

/// <summary>A value in a generated expression: an operand (<c>type</c>, <c>.a</c>…) or a literal.</summary>
internal abstract record ModelValue;

internal sealed record ModelOperand(string Name) : ModelValue
{
    public bool IsField => Name.StartsWith('.');

    public string FieldName => Name[1..];
}

/// <summary>A literal: string, double, bool or <see cref="JsonNull"/>; <see cref="EscapeAll"/> picks how a string is written.</summary>
internal sealed record ModelLiteral(object Value, bool EscapeAll) : ModelValue;

/// <summary>A generated condition, printed to expression text and evaluated by <see cref="Reference"/>.</summary>
internal abstract record ModelCondition;

internal sealed record ModelCompare(ModelValue Left, string Op, ModelValue Right) : ModelCondition;

internal sealed record ModelIn(ModelValue Left, ModelLiteral[] Items) : ModelCondition;

internal sealed record ModelCall(string Function, ModelValue[] Arguments) : ModelCondition;

internal sealed record ModelNot(ModelCondition Operand) : ModelCondition;

internal sealed record ModelLogical(bool IsAnd, ModelCondition Left, ModelCondition Right) : ModelCondition;

internal sealed record ModelConstant(bool Value) : ModelCondition;

/// <summary>
/// The language's meaning written as directly as possible, over C# values, with none of the
/// compiled form's machinery: the oracle for the property test.
/// </summary>
internal static class Reference
{
    public static bool Evaluate(ModelCondition condition, ModelEvent ev) => condition switch
    {
        ModelConstant c => c.Value,
        ModelNot n => !Evaluate(n.Operand, ev),
        ModelLogical { IsAnd: true } l => Evaluate(l.Left, ev) && Evaluate(l.Right, ev),
        ModelLogical l => Evaluate(l.Left, ev) || Evaluate(l.Right, ev),
        ModelCompare c => Compare(Resolve(c.Left, ev), c.Op, Resolve(c.Right, ev)),
        ModelIn i => i.Items.Any(item => Compare(Resolve(i.Left, ev), "==", item.Value)),
        ModelCall { Function: "exists" } call => Exists((ModelOperand)call.Arguments[0], ev),
        ModelCall call => StringFunction(call.Function, Resolve(call.Arguments[0], ev), Resolve(call.Arguments[1], ev)),
        _ => throw new InvalidOperationException(condition.ToString()),
    };

    /// <summary>The operand's value, or null when the event lacks it.</summary>
    private static object? Resolve(ModelValue value, ModelEvent ev) => value switch
    {
        ModelLiteral literal => literal.Value,
        ModelOperand { Name: "type" } => ev.Type,
        ModelOperand { Name: "key" } => ev.Key,
        ModelOperand { Name: "value" } => ev.Value,
        ModelOperand { Name: "ts" } => (double)(ev.Ts ?? 0),
        ModelOperand operand => FindField(ev, operand.FieldName),
        _ => throw new InvalidOperationException(value.ToString()),
    };

    private static object? FindField(ModelEvent ev, string name)
    {
        foreach ((string n, object v) in ev.Fields)
        {
            if (n == name)
            {
                return v;
            }
        }

        return null;
    }

    private static bool Exists(ModelOperand operand, ModelEvent ev) => operand.Name switch
    {
        "type" => ev.Type is not null,
        "key" => ev.Key is not null,
        "value" => ev.Value is not null,
        "ts" => ev.Ts is not null,
        _ => FindField(ev, operand.FieldName) is not null,
    };

    private static bool Compare(object? a, string op, object? b)
    {
        switch (a, b)
        {
            case (double x, double y):
                return Order(x.CompareTo(y), op);
            case (string s, string t):
                return Order(Encoding.UTF8.GetBytes(s).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(t)), op);
            case (bool p, bool q):
                return op switch { "==" => p == q, "!=" => p != q, _ => false };
            case (JsonNull, JsonNull):
                return op == "==";
            default:
                // Missing, different types, or containers.
                return false;
        }
    }

    private static bool Order(int c, string op) => op switch
    {
        "==" => c == 0,
        "!=" => c != 0,
        "<" => c < 0,
        "<=" => c <= 0,
        ">" => c > 0,
        _ => c >= 0,
    };

    private static bool StringFunction(string function, object? a, object? b)
    {
        if (a is not string text || b is not string part)
        {
            return false;
        }

        byte[] t = Encoding.UTF8.GetBytes(text);
        byte[] p = Encoding.UTF8.GetBytes(part);
        return function == "starts_with" ? t.AsSpan().StartsWith(p) : t.AsSpan().IndexOf(p) >= 0;
    }
}

/// <summary>Prints a generated condition as expression text, adding parentheses only where precedence needs them.</summary>
internal static class Printer
{
    private const int OrLevel = 1;
    private const int AndLevel = 2;
    private const int CompareLevel = 3;
    private const int PrimaryLevel = 4;

    public static string Print(ModelCondition condition)
    {
        var sb = new StringBuilder();
        Print(sb, condition, OrLevel);
        return sb.ToString();
    }

    private static void Print(StringBuilder sb, ModelCondition condition, int context)
    {
        int level = condition switch
        {
            ModelLogical { IsAnd: false } => OrLevel,
            ModelLogical => AndLevel,
            ModelCompare or ModelIn => CompareLevel,
            _ => PrimaryLevel,
        };
        bool parens = level < context;
        sb.Append(parens ? "(" : "");
        switch (condition)
        {
            case ModelConstant c:
                sb.Append(c.Value ? "true" : "false");
                break;
            case ModelNot n:
                sb.Append('!');
                Print(sb, n.Operand, PrimaryLevel);
                break;
            case ModelLogical l:
                Print(sb, l.Left, level);
                sb.Append(l.IsAnd ? " && " : " || ");
                Print(sb, l.Right, level);
                break;
            case ModelCompare c:
                Print(sb, c.Left);
                sb.Append(' ').Append(c.Op).Append(' ');
                Print(sb, c.Right);
                break;
            case ModelIn i:
                Print(sb, i.Left);
                sb.Append(" in [");
                for (int k = 0; k < i.Items.Length; k++)
                {
                    sb.Append(k > 0 ? ", " : "");
                    Print(sb, i.Items[k]);
                }

                sb.Append(']');
                break;
            case ModelCall call:
                sb.Append(call.Function).Append('(');
                for (int k = 0; k < call.Arguments.Length; k++)
                {
                    sb.Append(k > 0 ? ", " : "");
                    Print(sb, call.Arguments[k]);
                }

                sb.Append(')');
                break;
        }

        sb.Append(parens ? ")" : "");
    }

    private static void Print(StringBuilder sb, ModelValue value)
    {
        switch (value)
        {
            case ModelOperand { IsField: true } field when !field.FieldName.All(char.IsAsciiLetterOrDigit):
                sb.Append('.');
                ModelEvent.WriteString(sb, field.FieldName, escapeAll: false);
                break;
            case ModelOperand operand:
                sb.Append(operand.Name);
                break;
            case ModelLiteral { Value: string s } literal:
                ModelEvent.WriteString(sb, s, literal.EscapeAll);
                break;
            case ModelLiteral { Value: double d }:
                sb.Append(d.ToString("R", CultureInfo.InvariantCulture));
                break;
            case ModelLiteral { Value: bool b }:
                sb.Append(b ? "true" : "false");
                break;
            default:
                sb.Append("null");
                break;
        }
    }
}
