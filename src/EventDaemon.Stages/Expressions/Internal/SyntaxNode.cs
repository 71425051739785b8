using System.Globalization;
using System.Text;

namespace EventDaemon.Stages.Expressions.Internal;

/// <summary>
/// The parsed expression. Lives only while compiling; <see cref="ProgramBuilder"/> flattens it into
/// instructions and it is dropped.
/// </summary>
internal abstract class SyntaxNode(int start, int end)
{
    /// <summary>UTF-16 offset of the node's first character, where errors about it point.</summary>
    public int Start { get; } = start;

    public int End { get; } = end;

    /// <summary>True for nodes that yield true/false (comparisons, calls, <c>!</c>, <c>&amp;&amp;</c>, <c>||</c>, and the literals true/false).</summary>
    public abstract bool IsCondition { get; }

    /// <summary>True for nodes that yield a value to compare (operands and literals).</summary>
    public abstract bool IsValue { get; }

    /// <summary>Appends the node fully parenthesised, showing how precedence grouped it.</summary>
    public abstract void Render(StringBuilder sb);
}

/// <summary><c>type</c>, <c>key</c>, <c>value</c>, <c>ts</c> or <c>.field</c>.</summary>
internal sealed class OperandNode(int start, int end, OperandKind kind, string? fieldName) : SyntaxNode(start, end)
{
    public OperandKind Kind { get; } = kind;

    public string? FieldName { get; } = fieldName;

    public override bool IsCondition => false;

    public override bool IsValue => true;

    public override void Render(StringBuilder sb)
    {
        switch (Kind)
        {
            case OperandKind.Type: sb.Append("type"); break;
            case OperandKind.Key: sb.Append("key"); break;
            case OperandKind.Value: sb.Append("value"); break;
            case OperandKind.Timestamp: sb.Append("ts"); break;
            default:
                sb.Append('.');
                if (IsPlainName(FieldName!))
                {
                    sb.Append(FieldName);
                }
                else
                {
                    LiteralNode.RenderString(sb, FieldName!);
                }

                break;
        }
    }

    private static bool IsPlainName(string name)
    {
        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            return false;
        }

        foreach (char c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>A string, number, <c>true</c>, <c>false</c> or <c>null</c>.</summary>
internal sealed class LiteralNode(int start, int end, ScalarKind kind, string? text = null, double number = 0, long integer = 0, bool isInteger = false)
    : SyntaxNode(start, end)
{
    public ScalarKind Kind { get; } = kind;

    /// <summary>The unescaped string for <see cref="ScalarKind.String"/>.</summary>
    public string? Text { get; } = text;

    public double Number { get; } = number;

    public long Integer { get; } = integer;

    public bool IsInteger { get; } = isInteger;

    /// <summary><c>true</c> and <c>false</c> stand alone as constant conditions as well as compare as values.</summary>
    public override bool IsCondition => Kind is ScalarKind.True or ScalarKind.False;

    public override bool IsValue => true;

    public override void Render(StringBuilder sb)
    {
        switch (Kind)
        {
            case ScalarKind.String: RenderString(sb, Text!); break;
            case ScalarKind.Number:
                sb.Append(IsInteger ? Integer.ToString(CultureInfo.InvariantCulture) : Number.ToString("R", CultureInfo.InvariantCulture));
                break;
            case ScalarKind.True: sb.Append("true"); break;
            case ScalarKind.False: sb.Append("false"); break;
            default: sb.Append("null"); break;
        }
    }

    internal static void RenderString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < 0x20)
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        sb.Append('"');
    }
}

/// <summary><c>left op right</c>.</summary>
internal sealed class CompareNode(SyntaxNode left, CompareOp op, SyntaxNode right) : SyntaxNode(left.Start, right.End)
{
    public SyntaxNode Left { get; } = left;

    public CompareOp Op { get; } = op;

    public SyntaxNode Right { get; } = right;

    public override bool IsCondition => true;

    public override bool IsValue => false;

    public override void Render(StringBuilder sb)
    {
        Left.Render(sb);
        sb.Append(Op switch
        {
            CompareOp.Equal => " == ",
            CompareOp.NotEqual => " != ",
            CompareOp.Less => " < ",
            CompareOp.LessOrEqual => " <= ",
            CompareOp.Greater => " > ",
            _ => " >= ",
        });
        Right.Render(sb);
    }
}

/// <summary><c>left in [item, …]</c>.</summary>
internal sealed class InNode(SyntaxNode left, List<LiteralNode> items, int end) : SyntaxNode(left.Start, end)
{
    public SyntaxNode Left { get; } = left;

    public List<LiteralNode> Items { get; } = items;

    public override bool IsCondition => true;

    public override bool IsValue => false;

    public override void Render(StringBuilder sb)
    {
        Left.Render(sb);
        sb.Append(" in [");
        for (int i = 0; i < Items.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            Items[i].Render(sb);
        }

        sb.Append(']');
    }
}

internal enum FunctionKind : byte
{
    StartsWith,
    Contains,
    Exists,
}

/// <summary><c>starts_with(a, b)</c>, <c>contains(a, b)</c> or <c>exists(x)</c>, arguments already checked.</summary>
internal sealed class CallNode(int start, int end, FunctionKind function, SyntaxNode[] arguments) : SyntaxNode(start, end)
{
    public FunctionKind Function { get; } = function;

    public SyntaxNode[] Arguments { get; } = arguments;

    public override bool IsCondition => true;

    public override bool IsValue => false;

    public override void Render(StringBuilder sb)
    {
        sb.Append(Function switch
        {
            FunctionKind.StartsWith => "starts_with(",
            FunctionKind.Contains => "contains(",
            _ => "exists(",
        });
        for (int i = 0; i < Arguments.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            Arguments[i].Render(sb);
        }

        sb.Append(')');
    }
}

/// <summary><c>!operand</c>.</summary>
internal sealed class NotNode(int start, SyntaxNode operand) : SyntaxNode(start, operand.End)
{
    public SyntaxNode Operand { get; } = operand;

    public override bool IsCondition => true;

    public override bool IsValue => false;

    public override void Render(StringBuilder sb)
    {
        sb.Append("!(");
        Operand.Render(sb);
        sb.Append(')');
    }
}

/// <summary>A run of <c>&amp;&amp;</c> or of <c>||</c>, kept flat so long chains do not nest.</summary>
internal sealed class LogicalNode(bool isAnd, List<SyntaxNode> operands) : SyntaxNode(operands[0].Start, operands[^1].End)
{
    public bool IsAnd { get; } = isAnd;

    public List<SyntaxNode> Operands { get; } = operands;

    public override bool IsCondition => true;

    public override bool IsValue => false;

    public override void Render(StringBuilder sb)
    {
        sb.Append('(');
        for (int i = 0; i < Operands.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(IsAnd ? " && " : " || ");
            }

            Operands[i].Render(sb);
        }

        sb.Append(')');
    }
}
